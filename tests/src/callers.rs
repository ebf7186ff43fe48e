//! Every endpoint's caller. [`TestApp::call`] builds any request to an
//! endpoint (raw bytes, odd headers, another client address); the named
//! callers below are the usual requests.

use std::collections::HashMap;

use lambda_http::{Body, RequestExt, Response};
use password_service::domain::User;
use password_service::lambda;
use serde_json::Value;

use crate::requests::{event, event_request, random_address};
use crate::TestApp;

/// The endpoints of SPEC section 4, by the SPEC's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    P1,
    P2,
    P3,
    P4,
    P5,
    P6,
    /// P7 `POST /user/otp`: start an enrolment.
    P7Post,
    /// P7 `PUT /user/otp`: activate it.
    P7Put,
    /// P7 `DELETE /user/otp`: remove the device.
    P7Delete,
    Z1,
    Z2,
    /// Z1 at ZITADEL's RPC path, `PasswordReset` (Connect, gRPC-web).
    Z1Rpc,
    /// Z2 at ZITADEL's RPC path, `SetPassword` (Connect, gRPC-web).
    Z2Rpc,
    O1,
}

impl Endpoint {
    fn method(self) -> &'static str {
        match self {
            Endpoint::P3 => "GET",
            Endpoint::P1 | Endpoint::P4 | Endpoint::P6 | Endpoint::P7Put => "PUT",
            Endpoint::P7Delete => "DELETE",
            _ => "POST",
        }
    }

    /// The path, with the user id where the route has one.
    fn path(self, user_id: &str) -> String {
        match self {
            Endpoint::P1 => "/user/password".into(),
            Endpoint::P2 => "/user/password/confirm".into(),
            Endpoint::P3 => "/user/password/set".into(),
            Endpoint::P4 => "/user/password/reset".into(),
            Endpoint::P5 => "/callbacks/password-reset".into(),
            Endpoint::P6 => "/user/pin".into(),
            Endpoint::P7Post | Endpoint::P7Put | Endpoint::P7Delete => "/user/otp".into(),
            Endpoint::Z1 => format!("/v2/users/{user_id}/password_reset"),
            Endpoint::Z2 => format!("/v2/users/{user_id}/password"),
            Endpoint::Z1Rpc => "/zitadel.user.v2.UserService/PasswordReset".into(),
            Endpoint::Z2Rpc => "/zitadel.user.v2.UserService/SetPassword".into(),
            Endpoint::O1 => format!("/v1/users/{user_id}/reset-password"),
        }
    }

    /// The function crate serving the endpoint (its metrics' `Function`).
    pub fn function(self) -> &'static str {
        match self {
            Endpoint::P1 => "set-password-request",
            Endpoint::P2 => "set-password-confirm",
            Endpoint::P3 => "set-password-page",
            Endpoint::P4 => "password-reset-with-pin",
            Endpoint::P5 => "password-reset-callback",
            Endpoint::P6 => "set-pin",
            Endpoint::P7Post | Endpoint::P7Put | Endpoint::P7Delete => "user-otp",
            Endpoint::Z1 | Endpoint::Z1Rpc => "password-reset-code",
            Endpoint::Z2 | Endpoint::Z2Rpc => "change-password",
            Endpoint::O1 => "admin-reset-password",
        }
    }

    /// The route's path parameter naming the user, where it has one.
    fn user_parameter(self) -> Option<&'static str> {
        match self {
            Endpoint::Z1 | Endpoint::Z2 => Some("userId"),
            Endpoint::O1 => Some("user_id"),
            _ => None,
        }
    }
}

/// A request to one endpoint, built step by step, then sent to its handler.
pub struct Call<'a> {
    app: &'a TestApp,
    endpoint: Endpoint,
    /// Another HTTP method than the endpoint's (a CORS preflight's OPTIONS).
    method: Option<&'static str>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    base64_encoded: bool,
    user_id: String,
    query: HashMap<String, String>,
    address: Option<String>,
    request_id: Option<String>,
}

impl Call<'_> {
    /// Another method than the endpoint's (a CORS preflight, a misrouted request).
    pub fn method(mut self, method: &'static str) -> Self {
        self.method = Some(method);
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A bearer token where there is one; no authorization header otherwise.
    fn bearer_if(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.bearer(token),
            None => self,
        }
    }

    /// Sets a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn body(mut self, text: &str) -> Self {
        self.body = Some(text.as_bytes().to_vec());
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.body(&body.to_string())
    }

    /// A body of any bytes, sent base64-encoded as API Gateway sends binary.
    pub fn bytes(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self.base64_encoded = true;
        self
    }

    /// The user the route's path names (Z1, Z2, O1).
    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = user_id.to_string();
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.to_string(), value.to_string());
        self
    }

    /// The client's address as API Gateway reports it (random otherwise).
    pub fn from_address(mut self, address: &str) -> Self {
        self.address = Some(address.to_string());
        self
    }

    /// The invocation's request id, as its metrics line names it.
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_string());
        self
    }

    /// Sends the request as [`Call::send`] does, and counts the DynamoDB
    /// requests the invocation made (HTTP requests through the store's
    /// client, the SDK's retries and resubmitted transactions included) from
    /// its own metrics line: what a round-trip budget is about, however many
    /// requests one store call makes.
    pub async fn send_counting_round_trips(mut self) -> (Response<Body>, u64) {
        let id = format!("trips-{}", password_service::domain::random_hex(8));
        self.request_id = Some(id.clone());
        crate::captured_logs();
        let response = self.send().await;
        let trips = crate::log_capture::metrics_line(&id)["dynamodb_round_trips"]
            .as_u64()
            .unwrap_or(0);
        (response, trips)
    }

    /// Sends the request to the endpoint's handler as the Lambda boundary does
    /// (`lambda::measured`: its metrics line written to the log), and checks
    /// the answer against the OpenAPI documents.
    pub async fn send(self) -> Response<Body> {
        let endpoint = self.endpoint;
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let address = self.address.clone().unwrap_or_else(random_address);
        let method = self.method.unwrap_or(endpoint.method());
        let routed = method == endpoint.method();
        let event = event(
            method,
            &endpoint.path(&self.user_id),
            &headers,
            self.body,
            self.base64_encoded,
            &address,
        );
        let mut request = event_request(&event);
        if let Some(name) = endpoint.user_parameter() {
            request = request
                .with_path_parameters(HashMap::from([(name.to_string(), self.user_id.clone())]));
        }
        if !self.query.is_empty() {
            request = request.with_query_string_parameters(self.query);
        }
        let path = endpoint.path(&self.user_id);
        let services = &self.app.services;
        let answer = async move {
            match endpoint {
                Endpoint::P1 => set_password_request::handle(services, request).await,
                Endpoint::P2 => set_password_confirm::handle(services, request).await,
                Endpoint::P3 => {
                    set_password_page::handle(&services.config.passwords, request).await
                }
                Endpoint::P4 => password_reset_with_pin::handle(services, request).await,
                Endpoint::P5 => password_reset_callback::handle(services, request).await,
                Endpoint::P6 => set_pin::handle(services, request).await,
                Endpoint::P7Post | Endpoint::P7Put | Endpoint::P7Delete => {
                    user_otp::handle(services, request).await
                }
                Endpoint::Z1 | Endpoint::Z1Rpc => {
                    password_reset_code::handle(services, request).await
                }
                Endpoint::Z2 | Endpoint::Z2Rpc => change_password::handle(services, request).await,
                Endpoint::O1 => admin_reset_password::handle(services, request).await,
            }
        };
        let response = crate::as_function(
            endpoint.function(),
            lambda::measured(
                &self.app.metrics,
                endpoint.function(),
                self.request_id.as_deref(),
                answer,
            ),
        )
        .await;
        // Every answer of every test is one the OpenAPI documents describe;
        // the RPC paths speak ZITADEL's protocols, which they do not, and a
        // method the template does not route never reaches a function there.
        let rpc = matches!(endpoint, Endpoint::Z1Rpc | Endpoint::Z2Rpc);
        if routed && !rpc {
            crate::contract::assert_conforms(method, &path, &response);
        }
        response
    }
}

impl TestApp {
    /// A request to `endpoint`, with the content type its family's clients send
    /// (none for the RPC paths: each call names its protocol).
    pub fn call(&self, endpoint: Endpoint) -> Call<'_> {
        let content_type = match endpoint {
            Endpoint::P2 => Some("application/vnd.api+json"),
            Endpoint::Z1 | Endpoint::Z2 | Endpoint::O1 => Some("application/json"),
            _ => None,
        };
        Call {
            app: self,
            endpoint,
            method: None,
            headers: content_type
                .map(|ct| vec![("content-type".to_string(), ct.to_string())])
                .unwrap_or_default(),
            body: None,
            base64_encoded: false,
            user_id: String::new(),
            query: HashMap::new(),
            address: None,
            request_id: None,
        }
    }

    /// P1 `PUT /user/password`.
    pub async fn p1_request_link(&self, bearer: &str) -> Response<Body> {
        self.call(Endpoint::P1).bearer(bearer).send().await
    }

    /// P2 `POST /user/password/confirm`.
    pub async fn p2_confirm(&self, token: &str, password: &str) -> Response<Body> {
        self.call(Endpoint::P2)
            .json(&serde_json::json!({ "token": token, "password": password }))
            .send()
            .await
    }

    /// P3 `GET /user/password/set?token=…` in a browser preferring `language`.
    pub async fn p3_page(&self, token: Option<&str>, language: &str) -> Response<Body> {
        let call = self.call(Endpoint::P3).header("accept-language", language);
        match token {
            Some(token) => call.query("token", token),
            None => call,
        }
        .send()
        .await
    }

    /// P4 `PUT /user/password/reset[?pin=…]`.
    pub async fn p4_reset(
        &self,
        bearer: &str,
        query_pin: Option<&str>,
        body: &str,
    ) -> Response<Body> {
        let call = self.call(Endpoint::P4).bearer(bearer).body(body);
        match query_pin {
            Some(pin) => call.query("pin", pin),
            None => call,
        }
        .send()
        .await
    }

    /// `body` to `endpoint` with `bearer`: the P5 to P7 callers.
    async fn send_as(&self, endpoint: Endpoint, bearer: &str, body: &str) -> Response<Body> {
        self.call(endpoint).bearer(bearer).body(body).send().await
    }

    /// P5 `POST /callbacks/password-reset`.
    pub async fn p5_callback(&self, bearer: &str, body: &str) -> Response<Body> {
        self.send_as(Endpoint::P5, bearer, body).await
    }

    /// `copies` of one P5 callback, `body` with `user`'s token, sent at once
    /// (a race): each answer's status and error code.
    pub async fn p5_race(&self, user: &User, body: &Value, copies: usize) -> Vec<(u16, String)> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..copies {
            let (app, user, body) = (self.clone(), user.clone(), body.to_string());
            tasks.spawn(async move {
                let response = app
                    .p5_callback(&app.token_for(user.id.as_str()), &body)
                    .await;
                (response.status().as_u16(), crate::error_code(&response))
            });
        }
        tasks.join_all().await
    }

    /// P6 `PUT /user/pin`.
    pub async fn p6_set_pin(&self, bearer: &str, body: &str) -> Response<Body> {
        self.send_as(Endpoint::P6, bearer, body).await
    }

    /// P7 `POST /user/otp`: start an enrolment.
    pub async fn p7_start_enrolment(&self, bearer: &str, body: &str) -> Response<Body> {
        self.send_as(Endpoint::P7Post, bearer, body).await
    }

    /// P7 `PUT /user/otp`: activate the pending enrolment with a code.
    pub async fn p7_activate(&self, bearer: &str, body: &str) -> Response<Body> {
        self.send_as(Endpoint::P7Put, bearer, body).await
    }

    /// P7 `DELETE /user/otp`: remove the device.
    pub async fn p7_remove(&self, bearer: &str, body: &str) -> Response<Body> {
        self.send_as(Endpoint::P7Delete, bearer, body).await
    }

    /// Z1 `POST /v2/users/{userId}/password_reset`.
    pub async fn z1_reset_code(&self, bearer: &str, user_id: &str, body: &str) -> Response<Body> {
        self.call(Endpoint::Z1)
            .bearer(bearer)
            .user(user_id)
            .body(body)
            .send()
            .await
    }

    /// Z2 `POST /v2/users/{userId}/password`.
    pub async fn z2_set_password(
        &self,
        bearer: &str,
        user_id: &str,
        body: &Value,
    ) -> Response<Body> {
        self.call(Endpoint::Z2)
            .bearer(bearer)
            .user(user_id)
            .json(body)
            .send()
            .await
    }

    /// RPC `PasswordReset` at Z1's RPC path: `body` as the protocol that
    /// `content_type` names carries it (framed, for gRPC-web), sent as API
    /// Gateway sends every body to these routes (base64).
    pub async fn z1_rpc(
        &self,
        bearer: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response<Body> {
        self.rpc(Endpoint::Z1Rpc, bearer, content_type, body).await
    }

    /// RPC `SetPassword` at Z2's RPC path, as [`TestApp::z1_rpc`].
    pub async fn z2_rpc(
        &self,
        bearer: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response<Body> {
        self.rpc(Endpoint::Z2Rpc, bearer, content_type, body).await
    }

    async fn rpc(
        &self,
        endpoint: Endpoint,
        bearer: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response<Body> {
        self.call(endpoint)
            .header("content-type", content_type)
            .bytes(body)
            .bearer_if(bearer)
            .send()
            .await
    }

    /// Each of `calls` (a label and a JSON body) sent in turn to `endpoint`
    /// with `user`'s token: the label, the status, and the call's DynamoDB
    /// requests as its metrics line counts them (not the store port's calls:
    /// one of those may make several requests).
    pub async fn round_trips<'l>(
        &self,
        endpoint: Endpoint,
        user: &User,
        calls: impl IntoIterator<Item = (&'l str, Value)>,
    ) -> Vec<(&'l str, u16, u64)> {
        let mut trips = Vec::new();
        for (label, body) in calls {
            let (response, requests) = self
                .call(endpoint)
                .bearer(&self.token_for(user.id.as_str()))
                .json(&body)
                .send_counting_round_trips()
                .await;
            trips.push((label, response.status().as_u16(), requests));
        }
        trips
    }

    /// O1 `POST /v1/users/{user_id}/reset-password`, with or without a token.
    pub async fn o1_admin_reset(
        &self,
        bearer: Option<&str>,
        user_id: &str,
        body: &str,
    ) -> Response<Body> {
        self.call(Endpoint::O1)
            .user(user_id)
            .body(body)
            .bearer_if(bearer)
            .send()
            .await
    }
}
