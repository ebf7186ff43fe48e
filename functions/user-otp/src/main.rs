#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve_with_otp(|services, request| async move {
        user_otp::handle(&services, request).await
    })
    .await
}
