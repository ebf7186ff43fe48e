#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // The page needs only the password settings: no AWS client, no keys.
    let settings = async { password_service::config::PasswordSettings::from_env() };
    password_service::lambda::serve_with(settings, |settings, request| async move {
        set_password_page::handle(&settings, request).await
    })
    .await
}
