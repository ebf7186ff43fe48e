//! Family Z at ZITADEL's RPC paths, `/zitadel.user.v2.UserService/
//! {PasswordReset,SetPassword}`, through the handlers against the emulator:
//! requests in each protocol (Connect JSON and proto, gRPC-web proto and
//! JSON), answers read as a client reads them. Binary messages are ZITADEL's
//! own as the crate's prost types (`password_service::http::rpc::messages`,
//! whose unit tests hold them to the bytes a real client sent and to the
//! descriptors' field numbers); the JSON bodies, gRPC-web's frames and
//! trailers and Connect's error bodies are written and read here. Success,
//! the stored outcome, family Z's codes in each protocol's shape, bad input
//! (never a 5xx), and CORS.

use base64::Engine;
use integration_tests::{spawn_app, spawn_app_with, unique_email, Endpoint, TestApp};
use lambda_http::{Body, Response};
use password_service::domain::User;
use password_service::http::rpc::messages::{
    BadRequest, Password, PasswordResetMedium, PasswordResetRequest, PasswordResetResponse,
    ReturnPasswordResetCode, RpcStatus, SetPasswordRequest, SetPasswordVerification,
};
use prost::Message;
use serde_json::{json, Value};

const PASSWORD: &str = "amber-harbor-lighthouse-7";
const NEW_PASSWORD: &str = "quiet-meadow-tractor-51";

// ---------------------------------------------------------------------------
// The wire

/// The four protocol and codec pairs a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    ConnectJson,
    ConnectProto,
    GrpcWebProto,
    GrpcWebJson,
}

const WIRES: [Wire; 4] = [
    Wire::ConnectJson,
    Wire::ConnectProto,
    Wire::GrpcWebProto,
    Wire::GrpcWebJson,
];

impl Wire {
    fn content_type(self) -> &'static str {
        match self {
            Wire::ConnectJson => "application/json",
            Wire::ConnectProto => "application/proto",
            Wire::GrpcWebProto => "application/grpc-web+proto",
            Wire::GrpcWebJson => "application/grpc-web+json",
        }
    }

    fn grpc_web(self) -> bool {
        matches!(self, Wire::GrpcWebProto | Wire::GrpcWebJson)
    }

    /// The body of a request whose message is `json` or, in binary, `proto`.
    fn body(self, json: &Value, proto: Vec<u8>) -> Vec<u8> {
        let message = match self {
            Wire::ConnectJson | Wire::GrpcWebJson => json.to_string().into_bytes(),
            Wire::ConnectProto | Wire::GrpcWebProto => proto,
        };
        if self.grpc_web() {
            frame(0, &message)
        } else {
            message
        }
    }
}

/// One gRPC-web frame: flags, the payload's length (big-endian), the
/// payload. Not protobuf, and the crate frames only answers: the requests'
/// frames are built here, with the flags no client sends (compressed,
/// trailers) for the bad-input cases.
fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// How a SetPassword proves itself.
#[derive(Clone, Copy)]
enum Proof<'a> {
    Current(&'a str),
    Code(&'a str),
    None,
}

/// A `zitadel.user.v2.SetPasswordRequest` in `wire`'s protocol and codec.
fn set_password(wire: Wire, user_id: &str, password: &str, proof: Proof) -> Vec<u8> {
    let mut json = json!({ "userId": user_id, "newPassword": { "password": password } });
    let verification = match proof {
        Proof::Current(current) => {
            json["currentPassword"] = current.into();
            Some(SetPasswordVerification::CurrentPassword(current.into()))
        }
        Proof::Code(code) => {
            json["verificationCode"] = code.into();
            Some(SetPasswordVerification::VerificationCode(code.into()))
        }
        Proof::None => None,
    };
    let proto = SetPasswordRequest {
        user_id: user_id.into(),
        new_password: Some(Password {
            password: password.into(),
            change_required: false,
        }),
        verification,
    };
    wire.body(&json, proto.encode_to_vec())
}

/// A call's outcome, read as a client would.
#[derive(Debug)]
struct Answer {
    http: u16,
    /// The gRPC code: 0 for success.
    code: i32,
    message: String,
    /// The fields a google.rpc.BadRequest names.
    violations: Vec<String>,
    /// What the response message holds: `details.sequence` and
    /// `verificationCode`.
    sequence: Option<u64>,
    verification_code: Option<String>,
}

fn connect_code(name: &str) -> i32 {
    match name {
        "invalid_argument" => 3,
        "not_found" => 5,
        "permission_denied" => 7,
        "resource_exhausted" => 8,
        "failed_precondition" => 9,
        "internal" => 13,
        "unauthenticated" => 16,
        other => panic!("unexpected Connect code {other}"),
    }
}

/// The fields a serialised google.rpc.BadRequest names.
fn bad_request_fields(bytes: &[u8]) -> Vec<String> {
    BadRequest::decode(bytes)
        .expect("a google.rpc.BadRequest")
        .field_violations
        .into_iter()
        .map(|violation| violation.field)
        .collect()
}

fn unpadded(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64")
}

fn read(wire: Wire, response: &Response<Body>) -> Answer {
    let http = response.status().as_u16();
    let body = response.body().as_ref();
    let mut answer = Answer {
        http,
        code: 0,
        message: String::new(),
        violations: Vec::new(),
        sequence: None,
        verification_code: None,
    };
    let message = if wire.grpc_web() {
        assert_eq!(http, 200, "gRPC-web answers RPC errors with HTTP 200");
        let (message, trailers) = grpc_web_frames(body);
        answer.code = trailers["grpc-status"].parse().unwrap();
        answer.message = percent_decode(trailers.get("grpc-message").map_or("", |m| m));
        if let Some(details) = trailers.get("grpc-status-details-bin") {
            let status =
                RpcStatus::decode(unpadded(details).as_slice()).expect("a google.rpc.Status");
            assert_eq!(status.code, answer.code);
            let any = status.details.first().expect("a detail");
            assert_eq!(any.type_url, "type.googleapis.com/google.rpc.BadRequest");
            answer.violations = bad_request_fields(&any.value);
        }
        message
    } else if http == 200 {
        Some(body.to_vec())
    } else {
        let error: Value = serde_json::from_slice(body).expect("Connect's JSON error body");
        answer.code = connect_code(error["code"].as_str().unwrap());
        answer.message = error["message"].as_str().unwrap_or_default().to_string();
        for detail in error["details"].as_array().into_iter().flatten() {
            assert_eq!(detail["type"], "google.rpc.BadRequest");
            answer.violations = bad_request_fields(&unpadded(detail["value"].as_str().unwrap()));
        }
        None
    };
    if let Some(message) = message {
        match wire {
            Wire::ConnectJson | Wire::GrpcWebJson => {
                let json: Value = serde_json::from_slice(&message).expect("a JSON message");
                answer.sequence = json["details"]["sequence"]
                    .as_str()
                    .map(|s| s.parse().unwrap());
                answer.verification_code = json["verificationCode"].as_str().map(String::from);
            }
            Wire::ConnectProto | Wire::GrpcWebProto => {
                // A PasswordResetResponse is a SetPasswordResponse (1:
                // details) with 2: verificationCode: it reads either answer.
                let response =
                    PasswordResetResponse::decode(message.as_slice()).expect("a response message");
                answer.sequence = response.details.map(|details| details.sequence);
                answer.verification_code = response.verification_code;
            }
        }
    }
    answer
}

/// The message frame (if any) and the trailers of a gRPC-web answer.
fn grpc_web_frames(
    mut body: &[u8],
) -> (Option<Vec<u8>>, std::collections::HashMap<String, String>) {
    let mut message = None;
    loop {
        let (header, rest) = body.split_first_chunk::<5>().expect("a frame header");
        let length = u32::from_be_bytes(header[1..].try_into().unwrap()) as usize;
        let (payload, rest) = rest.split_at(length);
        if header[0] == 0x80 {
            assert!(rest.is_empty(), "the trailers frame ends the answer");
            let trailers = std::str::from_utf8(payload)
                .unwrap()
                .split("\r\n")
                .filter(|line| !line.is_empty())
                .map(|line| {
                    let (name, value) = line.split_once(": ").expect("name: value");
                    (name.to_string(), value.to_string())
                })
                .collect();
            return (message, trailers);
        }
        assert_eq!(header[0], 0, "an uncompressed message frame");
        message = Some(payload.to_vec());
        body = rest;
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn user_with_password(app: &TestApp, name: &str) -> User {
    app.create_user_with_password(&unique_email(name), PASSWORD)
        .await
}

// ---------------------------------------------------------------------------
// The tests

#[tokio::test]
async fn set_password_with_the_current_password_works_in_every_protocol() {
    let app = spawn_app().await;
    for wire in WIRES {
        let user = user_with_password(&app, "rpcset").await;
        let me = app.token_for(user.id.as_str());
        let body = set_password(
            wire,
            user.id.as_str(),
            NEW_PASSWORD,
            Proof::Current(PASSWORD),
        );
        let response = app.z2_rpc(Some(&me), wire.content_type(), body).await;
        assert_eq!(
            response.headers()["content-type"],
            wire.content_type(),
            "{wire:?}"
        );
        let answer = read(wire, &response);
        assert_eq!((answer.http, answer.code), (200, 0), "{wire:?}: {answer:?}");
        let stored = app.stored_user(&user).await;
        assert_eq!(answer.sequence, Some(stored.sequence), "{wire:?}");
        assert!(app.password_is(&user, NEW_PASSWORD).await, "{wire:?}");
        let events = app.services.store.audit_events(&user.id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(
            (last.event_type.as_str(), last.sequence),
            ("user.password.changed", stored.sequence)
        );
    }
    // application/grpc-web is gRPC-web with protobuf.
    let user = user_with_password(&app, "rpcbare").await;
    let body = set_password(
        Wire::GrpcWebProto,
        user.id.as_str(),
        NEW_PASSWORD,
        Proof::Current(PASSWORD),
    );
    let response = app
        .z2_rpc(
            Some(&app.token_for(user.id.as_str())),
            "application/grpc-web",
            body,
        )
        .await;
    assert_eq!(read(Wire::GrpcWebProto, &response).code, 0);
    assert!(app.password_is(&user, NEW_PASSWORD).await);
}

#[tokio::test]
async fn a_code_returned_to_an_admin_sets_the_password_and_change_required_is_stored() {
    let app = spawn_app().await;
    let user = user_with_password(&app, "rpccode").await;
    let admin = app.admin_token();
    let request = PasswordResetRequest {
        user_id: user.id.as_str().into(),
        medium: Some(PasswordResetMedium::ReturnCode(ReturnPasswordResetCode {})),
    };
    let issued = app
        .z1_rpc(
            Some(&admin),
            "application/grpc-web+proto",
            frame(0, &request.encode_to_vec()),
        )
        .await;
    let issued = read(Wire::GrpcWebProto, &issued);
    assert_eq!(issued.code, 0, "{issued:?}");
    assert_eq!(issued.sequence, Some(user.sequence + 1));
    let code = issued.verification_code.expect("the code");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_alphanumeric()));

    // SetPassword with the code, newPassword.changeRequired = true, Connect proto.
    let request = SetPasswordRequest {
        user_id: user.id.as_str().into(),
        new_password: Some(Password {
            password: NEW_PASSWORD.into(),
            change_required: true,
        }),
        verification: Some(SetPasswordVerification::VerificationCode(code.clone())),
    };
    let me = app.token_for(user.id.as_str());
    let changed = app
        .z2_rpc(Some(&me), "application/proto", request.encode_to_vec())
        .await;
    let changed = read(Wire::ConnectProto, &changed);
    assert_eq!((changed.http, changed.code), (200, 0), "{changed:?}");
    assert_eq!(changed.sequence, Some(user.sequence + 2));
    assert!(app.password_is(&user, NEW_PASSWORD).await);
    assert!(app.stored_user(&user).await.change_required);

    // The code is spent: again, over gRPC-web JSON, it is a wrong one.
    let me = app.token_for(user.id.as_str());
    let again = set_password(
        Wire::GrpcWebJson,
        user.id.as_str(),
        "yet-another-password-88",
        Proof::Code(&code),
    );
    let again = app
        .z2_rpc(Some(&me), "application/grpc-web+json", again)
        .await;
    let again = read(Wire::GrpcWebJson, &again);
    assert_eq!(
        (again.code, again.violations),
        (3, vec!["verificationCode".to_string()])
    );
    assert!(app.password_is(&user, NEW_PASSWORD).await);
}

#[tokio::test]
async fn family_z_codes_come_in_each_protocols_shape() {
    let app = spawn_app_with(|s| {
        s.insert("RATE_LIMIT_WRONG_SECRETS_PER_HOUR".into(), "2".into());
    })
    .await;
    for wire in WIRES {
        let user = user_with_password(&app, "rpcerrors").await;
        let id = user.id.as_str();
        let me = app.token_for(id);
        let call = |bearer: Option<String>, body: Vec<u8>| {
            let app = &app;
            async move {
                let response = app
                    .z2_rpc(bearer.as_deref(), wire.content_type(), body)
                    .await;
                (read(wire, &response), response)
            }
        };
        let (none, response) = call(
            None,
            set_password(wire, id, NEW_PASSWORD, Proof::Current(PASSWORD)),
        )
        .await;
        assert_eq!(none.code, 16, "{wire:?}: {none:?}");
        assert!(response.headers().contains_key("www-authenticate"));
        let stranger = Some(app.token_for("ffffffffffffffffffffffff"));
        let (denied, _) = call(
            stranger,
            set_password(wire, id, NEW_PASSWORD, Proof::Current(PASSWORD)),
        )
        .await;
        assert_eq!(denied.code, 7, "{wire:?}: {denied:?}");
        let ghost = set_password(wire, "0123456789abcdef01234567", NEW_PASSWORD, Proof::None);
        let (unknown, _) = call(Some(app.admin_token()), ghost).await;
        assert_eq!(unknown.code, 5, "{wire:?}: {unknown:?}");
        let (policy, _) = call(
            Some(me.clone()),
            set_password(wire, id, "short", Proof::Current(PASSWORD)),
        )
        .await;
        assert_eq!(
            (policy.code, policy.violations.as_slice()),
            (3, ["newPassword.password".to_string()].as_slice()),
            "{wire:?}"
        );
        assert!(policy.message.contains("not acceptable"), "{policy:?}");
        let (neither, _) = call(
            Some(me.clone()),
            set_password(wire, id, NEW_PASSWORD, Proof::None),
        )
        .await;
        assert_eq!(
            neither.violations,
            ["currentPassword", "verificationCode"],
            "{wire:?}"
        );
        for _ in 0..2 {
            let (wrong, _) = call(
                Some(me.clone()),
                set_password(wire, id, NEW_PASSWORD, Proof::Current("not-it")),
            )
            .await;
            assert_eq!(
                (wrong.code, wrong.violations.as_slice()),
                (3, ["currentPassword".to_string()].as_slice()),
                "{wire:?}"
            );
        }
        let (limited, response) = call(
            Some(me.clone()),
            set_password(wire, id, NEW_PASSWORD, Proof::Current(PASSWORD)),
        )
        .await;
        assert_eq!(limited.code, 8, "{wire:?}: {limited:?}");
        assert!(response.headers().contains_key("retry-after"));
        let expected_http = |code: i32| match (wire.grpc_web(), code) {
            (true, _) => 200,
            (false, 16) => 401,
            (false, 7) => 403,
            (false, 5) => 404,
            (false, 8) => 429,
            (false, _) => 400,
        };
        for answer in [&none, &denied, &unknown, &policy, &limited] {
            assert_eq!(
                answer.http,
                expected_http(answer.code),
                "{wire:?}: {answer:?}"
            );
        }
        assert!(app.password_is(&user, PASSWORD).await);
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_error_in_its_protocol_never_a_5xx() {
    let app = spawn_app().await;
    let user = user_with_password(&app, "rpcbad").await;
    let me = app.token_for(user.id.as_str());
    let valid = set_password(
        Wire::ConnectProto,
        user.id.as_str(),
        NEW_PASSWORD,
        Proof::Current(PASSWORD),
    );
    let big = "z".repeat(17 * 1024);
    let oversized = set_password(
        Wire::ConnectProto,
        user.id.as_str(),
        &big,
        Proof::Current(PASSWORD),
    );
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "a truncated frame",
            "application/grpc-web+proto",
            vec![0, 0, 0],
            "truncated",
        ),
        (
            "a length beyond the body",
            "application/grpc-web+proto",
            vec![0, 0, 0, 0, 9, 1, 2],
            "exceeds",
        ),
        (
            "a compressed frame",
            "application/grpc-web+proto",
            frame(1, &valid),
            "compressed",
        ),
        (
            "a trailers frame",
            "application/grpc-web+proto",
            frame(0x80, b"x: y\r\n"),
            "trailers",
        ),
        (
            "protobuf garbage",
            "application/grpc-web+proto",
            frame(0, &[0xff, 0xff, 0xff]),
            "protobuf",
        ),
        (
            "protobuf garbage",
            "application/proto",
            vec![0x0a, 50, b'x'],
            "protobuf",
        ),
        (
            "over 16 KiB",
            "application/grpc-web+proto",
            frame(0, &oversized),
            "16 KiB",
        ),
        (
            "over 16 KiB",
            "application/proto",
            oversized.clone(),
            "16 KiB",
        ),
        (
            "invalid JSON",
            "application/json",
            b"{\"userId\":".to_vec(),
            "JSON",
        ),
        (
            "invalid JSON",
            "application/grpc-web+json",
            frame(0, b"[1]"),
            "object",
        ),
        (
            "both oneof members",
            "application/json",
            br#"{"currentPassword":"a","verificationCode":"b"}"#.to_vec(),
            "oneof",
        ),
        (
            "no frame at all",
            "application/grpc-web+proto",
            Vec::new(),
            "frame",
        ),
    ];
    for (what, content_type, body, says) in cases {
        let response = app.z2_rpc(Some(&me), content_type, body).await;
        let wire = if content_type.starts_with("application/grpc-web") {
            Wire::GrpcWebProto
        } else {
            Wire::ConnectJson
        };
        let answer = read(wire, &response);
        assert_eq!(answer.code, 3, "{what} ({content_type}): {answer:?}");
        assert!(
            answer.message.contains(says),
            "{what} ({content_type}): {answer:?}"
        );
        let expected_http = match (wire, says) {
            (Wire::GrpcWebProto, _) => 200,
            (_, "16 KiB") => 413,
            _ => 400,
        };
        assert_eq!(answer.http, expected_http, "{what} ({content_type})");
    }
    // Wrong content types: 415 with Accept-Post and a Connect error body.
    for content_type in [
        "text/plain",
        "application/grpc",
        "application/grpc-web-text",
        "application/connect+proto",
    ] {
        let response = app.z2_rpc(Some(&me), content_type, valid.clone()).await;
        assert_eq!(response.status(), 415, "{content_type}");
        assert!(response.headers()["accept-post"]
            .to_str()
            .unwrap()
            .contains("application/grpc-web+proto"));
        assert_eq!(read(Wire::ConnectJson, &response).code, 3);
    }
    // Connect's own headers: another protocol version, a compressed body.
    for (header, value) in [
        ("connect-protocol-version", "2"),
        ("content-encoding", "gzip"),
    ] {
        let response = app
            .call(Endpoint::Z2Rpc)
            .bearer(&me)
            .header("content-type", "application/proto")
            .header(header, value)
            .bytes(valid.clone())
            .send()
            .await;
        let answer = read(Wire::ConnectProto, &response);
        assert_eq!((answer.http, answer.code), (400, 3), "{header}: {answer:?}");
    }
    assert!(
        app.password_is(&user, PASSWORD).await,
        "nothing was changed"
    );
    assert_eq!(app.stored_user(&user).await.sequence, user.sequence);
}

mod twin {
    use super::*;
    use integration_tests::{spawn_twin, spawn_twin_with};

    #[tokio::test]
    async fn a_link_is_mailed_with_the_code_from_connect_json() {
        let app = spawn_twin().await;
        let email = unique_email("rpclink");
        let user = app.create_user_with_password(&email, PASSWORD).await;
        let template = "https://app.example/reset?user={{.UserID}}&code={{.Code}}";
        let body = json!({ "userId": user.id.as_str(), "sendLink": {
            "notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": template } });
        let response = app
            .z1_rpc(
                Some(&app.token_for(user.id.as_str())),
                "application/json",
                body.to_string().into_bytes(),
            )
            .await;
        let answer = read(Wire::ConnectJson, &response);
        assert_eq!((answer.http, answer.code), (200, 0), "{answer:?}");
        assert_eq!(answer.verification_code, None, "mailed, not answered");
        let mail = app.mails_to(&email).pop().expect("the reset email");
        let link = format!("https://app.example/reset?user={}&code=", user.id);
        assert!(mail.body.contains(&link), "{}", mail.body);
    }

    #[tokio::test]
    async fn json_errors_name_the_field_and_never_repeat_the_value_sent() {
        // Clients and proxies log grpc-message: a password sent in the wrong
        // shape must not come back in it.
        let app = spawn_twin().await;
        let user = user_with_password(&app, "rpcvalue").await;
        let me = app.token_for(user.id.as_str());
        let id = user.id.as_str();
        for (body, field) in [
            (
                json!({ "userId": id, "newPassword": { "password": "hunter2-secret", "changeRequired": "hunter2-secret" } }),
                "newPassword.changeRequired",
            ),
            (
                json!({ "userId": id, "newPassword": "hunter2-secret" }),
                "newPassword",
            ),
            (
                json!({ "userId": id, "newPassword": { "password": 2_024_777_999 }, "currentPassword": PASSWORD }),
                "newPassword.password",
            ),
        ] {
            for wire in [Wire::ConnectJson, Wire::GrpcWebJson] {
                let response = app
                    .z2_rpc(Some(&me), wire.content_type(), wire.body(&body, Vec::new()))
                    .await;
                let answer = read(wire, &response);
                assert_eq!(answer.code, 3, "{wire:?} {body}: {answer:?}");
                assert!(
                    answer.message.contains(field),
                    "{wire:?} {body}: {answer:?}"
                );
                for value in ["hunter2", "2024777999"] {
                    assert!(!answer.message.contains(value), "{wire:?}: {answer:?}");
                }
            }
        }
        assert!(app.password_is(&user, PASSWORD).await);
    }

    #[tokio::test]
    async fn the_rpc_binding_answers_the_rest_bindings_field_violations() {
        let app = spawn_twin().await;
        let user = user_with_password(&app, "rpcsame").await;
        let me = app.token_for(user.id.as_str());
        let long = "p".repeat(201);
        let body = json!({ "newPassword": { "password": long }, "currentPassword": "" });
        let rest = app.z2_set_password(&me, user.id.as_str(), &body).await;
        let rest: Value = serde_json::from_slice(rest.body().as_ref()).unwrap();
        let mut rpc_body = body.clone();
        rpc_body["userId"] = user.id.as_str().into();
        let rpc = app
            .z2_rpc(
                Some(&me),
                "application/json",
                rpc_body.to_string().into_bytes(),
            )
            .await;
        let rpc: Value = serde_json::from_slice(rpc.body().as_ref()).unwrap();
        assert_eq!(
            rpc["details"][0]["debug"]["fieldViolations"],
            rest["details"][0]["fieldViolations"]
        );
        assert_eq!(
            rest["details"][0]["fieldViolations"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(rpc["message"], rest["message"]);
    }

    #[tokio::test]
    async fn browsers_of_allowed_origins_get_cors_grants_and_others_none() {
        let app = spawn_twin_with(|s| {
            s.insert("RPC_ALLOWED_ORIGINS".into(), "https://app.example".into());
        })
        .await;
        let preflight = |origin: &'static str| {
            app.call(Endpoint::Z1Rpc)
                .method("OPTIONS")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,x-grpc-web,authorization",
                )
                .send()
        };
        let granted = preflight("https://app.example").await;
        assert_eq!(granted.status(), 204);
        let headers = granted.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://app.example"
        );
        assert_eq!(headers["access-control-allow-methods"], "POST");
        let allowed = headers["access-control-allow-headers"].to_str().unwrap();
        for header in [
            "content-type",
            "x-grpc-web",
            "x-user-agent",
            "authorization",
            "connect-protocol-version",
            "grpc-timeout",
        ] {
            assert!(allowed.contains(header), "{header} in {allowed}");
        }
        let refused = preflight("https://evil.example").await;
        assert_eq!(refused.status(), 204);
        assert!(!refused
            .headers()
            .contains_key("access-control-allow-origin"));

        let call = app
            .call(Endpoint::Z1Rpc)
            .header("origin", "https://app.example")
            .header("content-type", "application/grpc-web+proto")
            .bytes(frame(0, &[]))
            .send()
            .await;
        assert_eq!(read(Wire::GrpcWebProto, &call).code, 16);
        let exposed = call.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap();
        for header in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
            assert!(exposed.contains(header), "{header} in {exposed}");
        }
    }
}
