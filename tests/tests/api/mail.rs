//! The emails as the emulator captured them: sent with an HTML part (the
//! emulator keeps only that one when both are sent), in the user's locale,
//! and the templates' directory checked when the functions' services start.

use std::sync::Arc;

use integration_tests::{spawn_app, unique_email};
use password_service::config::Config;
use password_service::domain::Locale;
use password_service::services::Services;

#[tokio::test]
async fn the_set_password_email_is_html_with_the_link_as_its_button() {
    let app = spawn_app().await;
    let email = unique_email("htmlmail");
    let user = app
        .create_user_with(&email, |u| u.locale = Locale::De)
        .await;
    let response = app.p1_request_link(&app.token_for(user.id.as_str())).await;
    assert_eq!(response.status(), 202);

    let mail = app.mails_to(&email).pop().expect("the link email");
    let token = app.token_from_latest_link(&email);
    let link = format!("{}?token={token}", app.settings["SET_PASSWORD_URL"]);
    assert!(mail.body.starts_with("<!DOCTYPE html>"), "{}", mail.body);
    assert!(mail.body.contains("<html lang=\"de\">"), "{}", mail.body);
    assert!(
        mail.body.contains(&format!("<a href=\"{link}\"")),
        "{}",
        mail.body
    );
    assert_eq!(mail.subject, "Passwort festlegen");
}

mod twin {
    use super::*;
    use integration_tests::spawn_twin;

    #[tokio::test]
    async fn a_templates_directory_with_a_broken_template_stops_the_services_naming_it() {
        let app = spawn_twin().await;
        let dir = std::env::temp_dir().join(format!("broken-templates-{}", unique_email("d")));
        std::fs::create_dir_all(dir.join("de")).unwrap();
        std::fs::write(dir.join("de/password-set.txt"), "Hallo {{ user_name }}\n").unwrap();
        let mut settings = app.settings.clone();
        settings.insert("MAIL_TEMPLATES_DIR".into(), dir.display().to_string());

        let started = Services::new(
            Config::from_map(&settings).unwrap(),
            app.services.store.clone(),
            app.services.mailer.clone(),
            Arc::new(app.clock.clone()),
            app.services.secrets(),
        );
        std::fs::remove_dir_all(&dir).unwrap();

        let error = started.err().expect("a configuration error").to_string();
        assert!(error.contains("MAIL_TEMPLATES_DIR"), "{error}");
        assert!(error.contains("de/password-set.txt"), "{error}");
    }
}
