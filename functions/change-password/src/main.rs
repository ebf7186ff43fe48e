#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve(|services, request| async move {
        change_password::handle(&services, request).await
    })
    .await
}
