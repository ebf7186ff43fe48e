use password_service::services::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve_needing(&[Need::OtpKeyRing], |services, request| async move {
        user_otp::handle(&services, request).await
    })
    .await
}
