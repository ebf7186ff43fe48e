//! Family Z over ZITADEL's RPC protocols: `POST
//! /zitadel.user.v2.UserService/{PasswordReset,SetPassword}` in Connect unary
//! (`application/json`, `application/proto`) and gRPC-web
//! (`application/grpc-web+proto`, `application/grpc-web` = proto,
//! `application/grpc-web+json`), everything API Gateway's REST API carries
//! over HTTP/1.1.
//!
//! This layer only moves messages and statuses on and off the wire: the
//! operation takes a decoded request message and answers a response message
//! or a family-Z [`Status`], whatever the protocol. Family Z's driver
//! (`http::zitadel::driver`) serves an operation's RPC route through
//! [`serve`].

pub mod connect;
pub mod endpoint;
pub mod grpc_web;
pub mod messages;

pub use endpoint::serve;

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

use super::grpc::{Code, Status};
use super::{body_bytes, BodyError, MAX_BODY_BYTES};
use messages::{RpcRequest, RpcResponse};

/// The two methods of the service that this API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    PasswordReset,
    SetPassword,
}

impl Method {
    /// The route, as the clients call it.
    pub fn path(self) -> &'static str {
        match self {
            Method::PasswordReset => "/zitadel.user.v2.UserService/PasswordReset",
            Method::SetPassword => "/zitadel.user.v2.UserService/SetPassword",
        }
    }

    /// The method a request's path names; `None` for any other path (e.g.
    /// the REST binding). A REST API's stage prefix is allowed before it.
    pub fn of(request: &Request) -> Option<Method> {
        let path = request.uri().path();
        [Method::PasswordReset, Method::SetPassword]
            .into_iter()
            .find(|method| path.ends_with(method.path()))
    }
}

/// How a message is serialised inside the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Proto,
    Json,
}

/// The wire protocol of one call, chosen by the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Connect unary: the bare message as the body.
    Connect(Codec),
    /// gRPC-web: length-prefixed frames, the status in a trailers frame.
    GrpcWeb(Codec),
}

/// The media types a request may use, as `Accept-Post` lists them.
pub const ACCEPTED_CONTENT_TYPES: &str =
    "application/json, application/proto, application/grpc-web+proto, application/grpc-web+json";

impl Protocol {
    /// The protocol of a request, from its Content-Type (parameters other
    /// than a UTF-8 `charset` on JSON are not accepted). Anything else is
    /// [`UnsupportedMediaType`], answered 415.
    pub fn negotiate(headers: &HeaderMap) -> Result<Protocol, UnsupportedMediaType> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Self::from_content_type(content_type)
            .ok_or_else(|| UnsupportedMediaType(content_type.chars().take(100).collect()))
    }

    fn from_content_type(content_type: &str) -> Option<Protocol> {
        let (essence, params) = super::media_type(content_type);
        let params: Vec<String> = params
            .iter()
            .map(|p| p.to_ascii_lowercase().replace(' ', ""))
            .collect();
        let utf8_charset_only = params
            .iter()
            .all(|p| p == "charset=utf-8" || p == "charset=utf8");
        let protocol = match essence.as_str() {
            "application/json" => Protocol::Connect(Codec::Json),
            "application/proto" => Protocol::Connect(Codec::Proto),
            "application/grpc-web" | "application/grpc-web+proto" => {
                Protocol::GrpcWeb(Codec::Proto)
            }
            "application/grpc-web+json" => Protocol::GrpcWeb(Codec::Json),
            _ => return None,
        };
        let json = matches!(
            protocol,
            Protocol::Connect(Codec::Json) | Protocol::GrpcWeb(Codec::Json)
        );
        (params.is_empty() || (json && utf8_charset_only)).then_some(protocol)
    }

    pub fn codec(self) -> Codec {
        match self {
            Protocol::Connect(codec) | Protocol::GrpcWeb(codec) => codec,
        }
    }

    /// The Content-Type of a successful answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Connect(Codec::Proto) => "application/proto",
            Protocol::Connect(Codec::Json) => "application/json",
            Protocol::GrpcWeb(Codec::Proto) => "application/grpc-web+proto",
            Protocol::GrpcWeb(Codec::Json) => "application/grpc-web+json",
        }
    }

    /// The request's message: the protocol's own headers checked, the body
    /// limit (16 KiB, 413 where the protocol has HTTP statuses), the framing,
    /// then the codec. Every failure is an `invalid_argument` that says what
    /// was wrong.
    pub fn decode<M: RpcRequest>(self, request: &Request) -> Result<M, Status> {
        let body = body_bytes(request);
        if body.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge.into());
        }
        let message = match self {
            Protocol::Connect(_) => connect::unary_message(request.headers(), body)?,
            Protocol::GrpcWeb(_) => grpc_web::unary_message(body)?,
        };
        decode_message(self.codec(), message)
    }

    /// The answer to the call: the message, or the status, in this
    /// protocol's shape.
    pub fn respond<M: RpcResponse>(self, outcome: Result<M, Status>) -> Response<Body> {
        match outcome {
            Ok(message) => self.ok(&message),
            Err(status) => self.error(status),
        }
    }

    pub fn ok<M: RpcResponse>(self, message: &M) -> Response<Body> {
        let encoded = encode_message(self.codec(), message);
        match self {
            Protocol::Connect(_) => connect::ok(self.content_type(), encoded),
            Protocol::GrpcWeb(_) => grpc_web::ok(self.content_type(), &encoded),
        }
    }

    pub fn error(self, status: Status) -> Response<Body> {
        let mut response = match self {
            Protocol::Connect(_) => connect::error(&status),
            Protocol::GrpcWeb(_) => grpc_web::error(self.content_type(), &status),
        };
        status.headers.apply(&mut response);
        response
    }
}

fn decode_message<M: RpcRequest>(codec: Codec, bytes: &[u8]) -> Result<M, Status> {
    match codec {
        Codec::Proto => M::decode(bytes).map_err(|e| {
            Status::new(
                Code::InvalidArgument,
                format!("the body is not a valid protobuf message: {e}"),
            )
        }),
        Codec::Json => M::from_json(bytes).map_err(|why| Status::new(Code::InvalidArgument, why)),
    }
}

fn encode_message<M: RpcResponse>(codec: Codec, message: &M) -> Vec<u8> {
    match codec {
        Codec::Proto => message.encode_to_vec(),
        Codec::Json => message.to_json().to_string().into_bytes(),
    }
}

/// A request in none of the protocols (by its Content-Type, at most 100
/// characters of it kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedMediaType(pub String);

impl UnsupportedMediaType {
    /// 415 with `Accept-Post`; the body is Connect's JSON error
    /// (`invalid_argument`), which any client can read: the protocol the
    /// caller meant is not known.
    pub fn into_response(self) -> Response<Body> {
        let status = Status {
            http_status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ..Status::new(
                Code::InvalidArgument,
                format!(
                    "unsupported content type {:?}: send one of {ACCEPTED_CONTENT_TYPES} \
                     (native gRPC over HTTP/2 is not served here)",
                    self.0
                ),
            )
        };
        let mut response = connect::error(&status);
        response.headers_mut().insert(
            "accept-post",
            HeaderValue::from_static(ACCEPTED_CONTENT_TYPES),
        );
        response
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::messages::*;
    use super::*;
    use prost::Message;
    use serde_json::Value;

    pub(crate) fn request(content_type: Option<&str>, body: Body) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example/prod/zitadel.user.v2.UserService/SetPassword");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(body).unwrap()
    }

    /// Negotiates, then decodes, answering a failure as a handler would.
    fn read_request<M: RpcRequest>(req: &Request) -> Result<(Protocol, M), Box<Response<Body>>> {
        let protocol =
            Protocol::negotiate(req.headers()).map_err(|u| Box::new(u.into_response()))?;
        protocol
            .decode(req)
            .map(|message| (protocol, message))
            .map_err(|status| Box::new(protocol.error(status)))
    }

    fn negotiated(content_type: &str) -> Option<Protocol> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        Protocol::negotiate(&headers).ok()
    }

    #[test]
    fn content_types_choose_the_protocol() {
        let cases = [
            ("application/json", Some(Protocol::Connect(Codec::Json))),
            (
                "application/json; charset=utf-8",
                Some(Protocol::Connect(Codec::Json)),
            ),
            ("Application/Proto", Some(Protocol::Connect(Codec::Proto))),
            (
                "application/grpc-web",
                Some(Protocol::GrpcWeb(Codec::Proto)),
            ),
            (
                "application/grpc-web+proto",
                Some(Protocol::GrpcWeb(Codec::Proto)),
            ),
            (
                "application/grpc-web+json",
                Some(Protocol::GrpcWeb(Codec::Json)),
            ),
            ("application/json; charset=latin1", None),
            ("application/proto; charset=utf-8", None),
            ("application/grpc", None),
            ("application/grpc-web-text", None),
            ("application/connect+json", None),
            ("text/plain", None),
        ];
        for (content_type, expected) in cases {
            assert_eq!(negotiated(content_type), expected, "{content_type}");
        }
    }

    #[test]
    fn unsupported_content_types_are_415_with_accept_post_and_a_connect_error() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let response = Protocol::negotiate(&headers).unwrap_err().into_response();
        assert_eq!(response.status(), 415);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["accept-post"], ACCEPTED_CONTENT_TYPES);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], "invalid_argument");
        assert!(body["message"].as_str().unwrap().contains("text/plain"));
        // No Content-Type at all is refused the same way.
        assert_eq!(
            Protocol::negotiate(&HeaderMap::new()).unwrap_err(),
            UnsupportedMediaType(String::new())
        );
    }

    #[test]
    fn methods_are_recognised_by_their_path_with_or_without_a_stage() {
        let req = request(None, Body::Empty);
        assert_eq!(Method::of(&req), Some(Method::SetPassword));
        let req = lambda_http::http::Request::builder()
            .uri("/zitadel.user.v2.UserService/PasswordReset")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(Method::of(&req), Some(Method::PasswordReset));
        let req = lambda_http::http::Request::builder()
            .uri("/v2/users/0123/password")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(Method::of(&req), None);
    }

    #[test]
    fn bodies_over_16_kib_are_refused_in_every_protocol() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        for protocol in [
            Protocol::Connect(Codec::Json),
            Protocol::Connect(Codec::Proto),
            Protocol::GrpcWeb(Codec::Proto),
            Protocol::GrpcWeb(Codec::Json),
        ] {
            let req = request(Some(protocol.content_type()), Body::Binary(big.clone()));
            let status = protocol.decode::<SetPasswordRequest>(&req).unwrap_err();
            assert_eq!(status.code, Code::InvalidArgument, "{protocol:?}");
            assert_eq!(status.http_status, Some(StatusCode::PAYLOAD_TOO_LARGE));
        }
    }

    #[test]
    fn read_request_decodes_each_protocol_to_the_same_message() {
        let message = SetPasswordRequest {
            user_id: "u".into(),
            new_password: Some(Password {
                password: "p".into(),
                change_required: false,
            }),
            verification: Some(SetPasswordVerification::CurrentPassword("c".into())),
        };
        let proto = message.encode_to_vec();
        let json = br#"{"userId":"u","newPassword":{"password":"p"},"currentPassword":"c"}"#;
        let framed = |payload: &[u8]| {
            let mut frame = vec![0];
            frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            frame.extend_from_slice(payload);
            frame
        };
        let cases = [
            ("application/proto", Body::Binary(proto.clone())),
            (
                "application/json",
                Body::Text(String::from_utf8(json.to_vec()).unwrap()),
            ),
            ("application/grpc-web+proto", Body::Binary(framed(&proto))),
            ("application/grpc-web", Body::Binary(framed(&proto))),
            ("application/grpc-web+json", Body::Binary(framed(json))),
        ];
        for (content_type, body) in cases {
            let (_, decoded) =
                read_request::<SetPasswordRequest>(&request(Some(content_type), body))
                    .unwrap_or_else(|r| panic!("{content_type}: {}", r.status()));
            assert_eq!(decoded, message, "{content_type}");
        }
    }

    #[test]
    fn protobuf_garbage_is_invalid_argument_in_the_protocol_shape() {
        let req = request(Some("application/proto"), Body::Binary(vec![0xff, 0xff]));
        let response = read_request::<SetPasswordRequest>(&req).unwrap_err();
        assert_eq!(response.status(), 400);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["code"], "invalid_argument");
        assert!(body["message"].as_str().unwrap().contains("protobuf"));

        let req = request(
            Some("application/grpc-web+proto"),
            Body::Binary(vec![0, 0, 0, 0, 2, 0xff, 0xff]),
        );
        let response = read_request::<SetPasswordRequest>(&req).unwrap_err();
        assert_eq!(response.status(), 200);
        let trailers = grpc_web::tests::trailers_of(response.body().as_ref());
        assert_eq!(trailers["grpc-status"], "3");
    }

    #[test]
    fn error_headers_go_out_in_every_protocol() {
        use crate::http::ErrorHeaders;
        let status = Status::new(Code::ResourceExhausted, "slow down").headers(ErrorHeaders {
            www_authenticate: None,
            retry_after_seconds: Some(42),
        });
        for protocol in [
            Protocol::Connect(Codec::Json),
            Protocol::GrpcWeb(Codec::Proto),
        ] {
            let response = protocol.error(status.clone());
            assert_eq!(response.headers()["retry-after"], "42", "{protocol:?}");
        }
        assert_eq!(Protocol::Connect(Codec::Proto).error(status).status(), 429);
    }
}
