use password_service::services::Need;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve_needing(&[Need::Pepper], |services, request| async move {
        password_reset_with_pin::handle(&services, request).await
    })
    .await
}
