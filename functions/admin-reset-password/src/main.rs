#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve(|services, request| async move {
        admin_reset_password::handle(&services, request).await
    })
    .await
}
