//! gRPC-web (grpc/grpc `doc/PROTOCOL-WEB.md`): every message travels in a
//! frame of 1 flag byte and a 4-byte big-endian length; the status ends the
//! answer in a trailers frame (flag 0x80) of `name: value\r\n` lines. RPC
//! errors are HTTP 200, as the protocol requires.
//!
//! Errors are answered with the trailers frame in the body (no message
//! frame), not as a "trailers-only" answer in the HTTP headers: every
//! gRPC-web client reads the body form, and a browser reads it without
//! `Access-Control-Expose-Headers`.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use lambda_http::http::HeaderValue;
use lambda_http::{Body, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use prost::Message;

use super::messages::{Any, BadRequest, RpcStatus, BAD_REQUEST_TYPE, TYPE_URL_PREFIX};
use crate::http::grpc::{Code, Status};

const FRAME_HEADER_BYTES: usize = 5;
const FLAG_COMPRESSED: u8 = 0x01;
const FLAG_TRAILERS: u8 = 0x80;

/// gRPC's `grpc-message` encoding: bytes outside printable ASCII, and `%`,
/// are percent-encoded (UTF-8 first).
const GRPC_MESSAGE_ESCAPED: &AsciiSet = &CONTROLS.add(b'%');

fn invalid(message: String) -> Status {
    Status::new(Code::InvalidArgument, message)
}

/// The one message frame of a unary request. Anything else (no frame, a
/// cut-off header, a length beyond the body, a trailers or compressed
/// frame, a second frame) is refused, saying which.
pub(super) fn unary_message(body: &[u8]) -> Result<&[u8], Status> {
    if body.is_empty() {
        return Err(invalid(
            "the body holds no gRPC-web frame: a unary call sends one message frame".into(),
        ));
    }
    let Some((header, rest)) = body.split_first_chunk::<FRAME_HEADER_BYTES>() else {
        return Err(invalid(format!(
            "truncated gRPC-web frame: {} bytes, a frame header has 5",
            body.len()
        )));
    };
    let [flags, length @ ..] = *header;
    let length = u32::from_be_bytes(length) as usize;
    if flags & FLAG_TRAILERS != 0 {
        return Err(invalid(
            "a request carries a message frame, not a trailers frame (flag 0x80)".into(),
        ));
    }
    if flags & FLAG_COMPRESSED != 0 {
        // Compression is negotiated per call; this service offers only
        // identity, which connect-es and grpc-web clients use by default.
        return Err(invalid(
            "compressed gRPC-web messages are not supported: send them uncompressed (grpc-encoding identity)".into(),
        ));
    }
    if flags != 0 {
        return Err(invalid(format!(
            "unknown gRPC-web frame flags 0x{flags:02x}"
        )));
    }
    if length > rest.len() {
        return Err(invalid(format!(
            "gRPC-web frame length {length} exceeds the {} bytes that follow its header",
            rest.len()
        )));
    }
    if rest.len() > length {
        return Err(invalid(format!(
            "{} bytes after the message frame: a unary call sends exactly one",
            rest.len() - length
        )));
    }
    Ok(rest)
}

fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    frame.push(flags);
    // Messages and trailers here are far below 4 GiB.
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The trailers frame of an answer: `grpc-status`, and for an error
/// `grpc-message` and, where there are field violations,
/// `grpc-status-details-bin` (a google.rpc.Status with a BadRequest).
pub fn trailers_frame(status: Option<&Status>) -> Vec<u8> {
    let text = match status {
        None => "grpc-status: 0\r\n".to_string(),
        Some(status) => {
            let mut text = format!(
                "grpc-status: {}\r\ngrpc-message: {}\r\n",
                status.code as i32,
                utf8_percent_encode(&status.message, GRPC_MESSAGE_ESCAPED)
            );
            if let Some(details) = status_details_bin(status) {
                text.push_str(&format!("grpc-status-details-bin: {details}\r\n"));
            }
            text
        }
    };
    frame(FLAG_TRAILERS, text.as_bytes())
}

/// Base64 (unpadded, as gRPC emits binary headers) of the google.rpc.Status
/// with the BadRequest detail; `None` without field violations.
pub fn status_details_bin(status: &Status) -> Option<String> {
    if status.field_violations.is_empty() {
        return None;
    }
    let detail = Any {
        type_url: format!("{TYPE_URL_PREFIX}{BAD_REQUEST_TYPE}"),
        value: BadRequest::of(&status.field_violations).encode_to_vec(),
    };
    let rpc_status = RpcStatus {
        code: status.code as i32,
        message: status.message.clone(),
        details: vec![detail],
    };
    Some(STANDARD_NO_PAD.encode(rpc_status.encode_to_vec()))
}

fn answer(content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::Binary(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type.ends_with("+json") {
        // lambda_http re-reads a body as UTF-8 text when its Content-Type
        // ends in `+json`, which mangles the frames (the trailers flag 0x80,
        // lengths over 127); a Content-Encoding header is its one switch to
        // pass the bytes through as binary. gRPC-web compresses with
        // grpc-encoding, so clients pay no attention to this one.
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
    }
    response
}

pub(super) fn ok(content_type: &'static str, message: &[u8]) -> Response<Body> {
    let mut body = frame(0, message);
    body.extend(trailers_frame(None));
    answer(content_type, body)
}

pub(super) fn error(content_type: &'static str, status: &Status) -> Response<Body> {
    answer(content_type, trailers_frame(Some(status)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The trailers of an answer's body, after any message frame.
    pub(crate) fn trailers_of(body: &[u8]) -> HashMap<String, String> {
        let mut rest = body;
        loop {
            let (header, after) = rest.split_first_chunk::<5>().expect("a frame header");
            let length = u32::from_be_bytes(header[1..].try_into().unwrap()) as usize;
            let (payload, after) = after.split_at(length);
            if header[0] == FLAG_TRAILERS {
                assert!(after.is_empty(), "the trailers frame is the last");
                return std::str::from_utf8(payload)
                    .unwrap()
                    .split("\r\n")
                    .filter(|line| !line.is_empty())
                    .map(|line| {
                        let (name, value) = line.split_once(": ").unwrap();
                        (name.to_string(), value.to_string())
                    })
                    .collect();
            }
            rest = after;
        }
    }

    #[test]
    fn a_unary_request_is_one_uncompressed_frame() {
        assert_eq!(
            unary_message(&[0, 0, 0, 0, 2, 0x08, 0x01]).unwrap(),
            [0x08, 0x01]
        );
        // An empty message is a frame of length 0.
        assert_eq!(unary_message(&[0, 0, 0, 0, 0]).unwrap(), b"");
    }

    #[test]
    fn malformed_framing_is_invalid_argument_saying_why() {
        let cases: [(&[u8], &str); 7] = [
            (&[], "no gRPC-web frame"),
            (&[0, 0, 0], "truncated"),
            (&[0, 0, 0, 0, 9, 1, 2], "exceeds the 2 bytes"),
            (&[0, 0xff, 0xff, 0xff, 0xff], "exceeds the 0 bytes"),
            (&[1, 0, 0, 0, 1, 0], "compressed"),
            (&[0x80, 0, 0, 0, 0], "trailers frame"),
            (&[0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0], "5 bytes after"),
        ];
        for (body, why) in cases {
            let status = unary_message(body).unwrap_err();
            assert_eq!(status.code, Code::InvalidArgument, "{body:?}");
            assert!(status.message.contains(why), "{body:?}: {}", status.message);
        }
        assert!(unary_message(&[0x02, 0, 0, 0, 0])
            .unwrap_err()
            .message
            .contains("0x02"));
    }

    #[test]
    fn a_success_is_a_message_frame_then_status_0() {
        let response = ok("application/grpc-web+proto", &[0x0a, 0x00]);
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/grpc-web+proto"
        );
        let mut expected = vec![0, 0, 0, 0, 2, 0x0a, 0x00, 0x80, 0, 0, 0, 16];
        expected.extend_from_slice(b"grpc-status: 0\r\n");
        assert_eq!(response.body().as_ref(), expected.as_slice());
    }

    #[test]
    fn an_error_is_http_200_with_only_a_trailers_frame() {
        let response = error(
            "application/grpc-web+json",
            &Status::new(Code::PermissionDenied, "no"),
        );
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/grpc-web+json"
        );
        let mut expected = vec![0x80, 0, 0, 0, 34];
        expected.extend_from_slice(b"grpc-status: 7\r\ngrpc-message: no\r\n");
        assert_eq!(response.body().as_ref(), expected.as_slice());
    }

    /// What the Lambda runtime does with a handler's answer before it is
    /// sent: the bytes must come out as they went in, for both codecs.
    #[tokio::test]
    async fn frames_pass_lambda_https_body_conversion_unchanged() {
        use lambda_http::IntoResponse;
        let message = vec![0xab; 200];
        for content_type in ["application/grpc-web+json", "application/grpc-web+proto"] {
            let sent = ok(content_type, &message);
            let expected = sent.body().as_ref().to_vec();
            let converted = sent.into_response().await;
            assert_eq!(
                converted.body().as_ref(),
                expected.as_slice(),
                "{content_type}"
            );
            assert!(
                matches!(converted.body(), Body::Binary(_)),
                "{content_type}"
            );
        }
        let error = error(
            "application/grpc-web+json",
            &Status::new(Code::NotFound, "user not found"),
        );
        let expected = error.body().as_ref().to_vec();
        assert_eq!(
            error.into_response().await.body().as_ref(),
            expected.as_slice()
        );
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        let status = Status::new(Code::InvalidArgument, "100% wrong:\r\nnäh ok");
        let trailers = trailers_of(&trailers_frame(Some(&status)));
        assert_eq!(trailers["grpc-message"], "100%25 wrong:%0D%0An%C3%A4h ok");
    }

    #[test]
    fn field_violations_travel_in_grpc_status_details_bin() {
        let status = Status::new(Code::InvalidArgument, "invalid current password")
            .violation("currentPassword", "the current password is not correct");
        let trailers = trailers_of(&trailers_frame(Some(&status)));
        assert_eq!(trailers["grpc-status"], "3");
        let bytes = STANDARD_NO_PAD
            .decode(&trailers["grpc-status-details-bin"])
            .unwrap();
        let decoded = RpcStatus::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.code, 3);
        assert_eq!(decoded.message, "invalid current password");
        assert_eq!(
            decoded.details[0].type_url,
            "type.googleapis.com/google.rpc.BadRequest"
        );
        let bad_request = BadRequest::decode(decoded.details[0].value.as_slice()).unwrap();
        assert_eq!(bad_request.field_violations[0].field, "currentPassword");
        // Hand-checked start: Status{1: 3, 2: "invalid current password", 3: Any{…}}.
        assert_eq!(&bytes[..4], &[0x08, 3, 0x12, 24]);
        // Without violations there is no such trailer.
        let plain = trailers_of(&trailers_frame(Some(&Status::new(Code::NotFound, "x"))));
        assert!(!plain.contains_key("grpc-status-details-bin"));
    }
}
