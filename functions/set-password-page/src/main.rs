#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    password_service::lambda::serve(|services, request| async move {
        set_password_page::handle(&services, request).await
    })
    .await
}
