//! One RPC route end to end: a browser's CORS preflight, the protocol chosen
//! by the Content-Type, the call, and its answer, with the CORS grants a page
//! of an allowed origin needs to read it.

use std::future::Future;

use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use lambda_http::http::{HeaderValue, Method as HttpMethod, StatusCode};
use lambda_http::{Body, Request, Response};

use super::messages::RpcResponse;
use super::Protocol;
use crate::config::RpcSettings;
use crate::http::empty_response;
use crate::http::grpc::Status;

/// The request headers gRPC-web and Connect clients send from a browser.
pub const ALLOWED_HEADERS: &str = "content-type, x-grpc-web, x-user-agent, authorization, \
     connect-protocol-version, connect-timeout-ms, grpc-timeout";
/// The answer's headers such a client reads (gRPC-web's status travels in
/// the body's trailers frame too; a trailers-only answer has them here).
pub const EXPOSED_HEADERS: &str = "grpc-status, grpc-message, grpc-status-details-bin, retry-after";
/// How long a browser may keep a preflight's answer (Chromium's cap).
const PREFLIGHT_MAX_AGE_SECONDS: u32 = 7200;

/// Answers `request` to an RPC route: an `OPTIONS` preflight, or the call
/// in the protocol its Content-Type names (415 for none), with CORS grants
/// where its `Origin` is one of `settings.allowed_origins`.
pub async fn serve<M, C, F>(settings: &RpcSettings, request: &Request, call: C) -> Response<Body>
where
    M: RpcResponse,
    C: FnOnce(Protocol) -> F,
    F: Future<Output = Result<M, Status>>,
{
    let origin = allowed_origin(settings, request);
    let preflight = request.method() == HttpMethod::OPTIONS;
    let mut response = if preflight {
        empty_response(StatusCode::NO_CONTENT)
    } else {
        match Protocol::negotiate(request.headers()) {
            Ok(protocol) => protocol.respond(call(protocol).await),
            Err(unsupported) => unsupported.into_response(),
        }
    };
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if preflight {
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(PREFLIGHT_MAX_AGE_SECONDS),
            );
        } else {
            headers.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }
    response
}

/// The request's `Origin`, where it is allowed (compared case-insensitively,
/// as scheme and host are).
fn allowed_origin(settings: &RpcSettings, request: &Request) -> Option<HeaderValue> {
    let origin = request.headers().get(ORIGIN)?;
    let text = origin.to_str().ok()?.to_ascii_lowercase();
    settings
        .allowed_origins
        .contains(&text)
        .then(|| origin.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::grpc::Code;
    use crate::http::rpc::messages::SetPasswordResponse;

    fn settings() -> RpcSettings {
        RpcSettings {
            allowed_origins: vec!["https://app.example".into()],
        }
    }

    fn request(method: &str, origin: Option<&str>, content_type: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri("/zitadel.user.v2.UserService/SetPassword")
            .header("content-type", content_type);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(Body::Empty).unwrap()
    }

    async fn answer(request: &Request) -> Response<Body> {
        serve(&settings(), request, |_| async {
            Ok::<_, Status>(SetPasswordResponse::default())
        })
        .await
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_is_granted() {
        let response = answer(&request("OPTIONS", Some("https://App.example"), "")).await;
        assert_eq!(response.status(), 204);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://App.example"
        );
        assert_eq!(headers["access-control-allow-methods"], "POST");
        let allowed = headers["access-control-allow-headers"].to_str().unwrap();
        for header in [
            "content-type",
            "x-grpc-web",
            "authorization",
            "grpc-timeout",
        ] {
            assert!(allowed.contains(header), "{header}");
        }
        assert_eq!(headers["vary"], "origin");
    }

    #[tokio::test]
    async fn other_origins_and_no_configuration_get_no_grant() {
        for (settings, origin) in [
            (settings(), "https://evil.example"),
            (RpcSettings::default(), "https://app.example"),
        ] {
            let preflight = request("OPTIONS", Some(origin), "");
            let response = serve(&settings, &preflight, |_| async {
                Ok::<_, Status>(SetPasswordResponse::default())
            })
            .await;
            assert_eq!(response.status(), 204);
            assert!(!response
                .headers()
                .contains_key("access-control-allow-origin"));
        }
    }

    #[tokio::test]
    async fn answers_to_an_allowed_origin_expose_the_grpc_headers() {
        let call = request("POST", Some("https://app.example"), "application/proto");
        let response = serve(&settings(), &call, |_| async {
            Err::<SetPasswordResponse, _>(Status::new(Code::NotFound, "user not found"))
        })
        .await;
        assert_eq!(response.status(), 404);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://app.example"
        );
        assert!(headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("grpc-status-details-bin"));
        let unsupported = answer(&request("POST", Some("https://app.example"), "text/plain")).await;
        assert_eq!(unsupported.status(), 415);
        assert!(unsupported
            .headers()
            .contains_key("access-control-allow-origin"));
    }
}
