#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve_with_otp(|services, request| async move {
        password_reset_callback::handle(&services, request).await
    })
    .await
}
