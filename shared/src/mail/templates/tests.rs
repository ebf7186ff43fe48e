//! The templates: every message in every locale, escaping, overrides and
//! their start-up check, previews.

use super::*;

fn to() -> Email {
    Email::parse("a@example.com").unwrap()
}

fn built_in() -> Templates {
    Templates::load(None).expect("the built-in templates render")
}

/// A scratch directory of overrides, removed when dropped.
struct Overrides(std::path::PathBuf);

impl Overrides {
    fn with(files: &[(&str, &str)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("mail-templates-{}", crate::domain::random_hex(6)));
        for (name, source) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, source).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Overrides {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_message_renders_a_subject_an_html_part_and_a_text_part_in_every_locale() {
    let templates = built_in();
    for notice in Notice::SAMPLES {
        for locale in LOCALES {
            let mail = templates.render(*notice, &to(), locale).unwrap();
            let (html, text) = (mail.html.expose(), mail.text.expose());
            let what = format!("{} in {}", notice.name(), locale.as_str());
            assert!(
                !mail.subject.is_empty() && !mail.subject.contains('\n'),
                "{what}"
            );
            assert!(html.starts_with("<!DOCTYPE html>"), "{what}: {html}");
            assert!(
                html.contains(&format!("<html lang=\"{}\">", locale.as_str())),
                "{what}"
            );
            assert!(!text.contains('<'), "{what}: the text part has no markup");
            let hello = if locale == Locale::De {
                "Hallo,"
            } else {
                "Hello,"
            };
            assert!(text.starts_with(hello) && html.contains(hello), "{what}");
            assert!(text.ends_with(".\n"), "{what}: {text:?}");
        }
    }
}

#[test]
fn the_link_and_the_code_are_in_both_parts_and_the_link_is_the_html_button() {
    let templates = built_in();
    for notice in Notice::SAMPLES {
        let (link, code) = match *notice {
            Notice::SetPasswordLink { link, .. } => (Some(link), None),
            Notice::ResetCode { code, link, .. } => (link, Some(code)),
            _ => continue,
        };
        for locale in LOCALES {
            let mail = templates.render(*notice, &to(), locale).unwrap();
            let (html, text) = (mail.html.expose(), mail.text.expose());
            if let Some(link) = link {
                assert!(text.contains(link), "{text}");
                let in_html = link.replace('&', "&amp;");
                assert!(html.contains(&format!("<a href=\"{in_html}\"")), "{html}");
            } else {
                assert!(!html.contains("<a href"), "no link, no button: {html}");
            }
            if let Some(code) = code {
                assert!(text.contains(&format!("\n    {code}\n")), "{text}");
                assert!(html.contains(&format!("\n{code}\n")), "{html}");
            }
        }
    }
}

#[test]
fn every_value_in_the_html_part_is_escaped() {
    let hostile = "https://x.example/?a=1&b=\"><script>alert('x')</script>";
    let templates = built_in();
    let notices = [
        Notice::SetPasswordLink {
            link: hostile,
            valid_hours: 24,
        },
        Notice::ResetCode {
            code: "<b>\"'&",
            link: Some(hostile),
            valid_minutes: 60,
        },
    ];
    for notice in notices {
        for locale in LOCALES {
            let mail = templates.render(notice, &to(), locale).unwrap();
            let html = mail.html.expose();
            assert!(
                !html.contains("<script>") && !html.contains("<b>"),
                "{html}"
            );
            assert!(
                !html.contains("b=\""),
                "no attribute is closed early: {html}"
            );
            assert!(
                html.contains("&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
                "{html}"
            );
            assert!(html.contains("a=1&amp;b="), "{html}");
            // The text part is not HTML: it shows the value as it is.
            assert!(mail.text.expose().contains(hostile));
        }
    }
    let code = templates.render(notices[1], &to(), Locale::En).unwrap();
    assert!(code.html.expose().contains("&lt;b&gt;&quot;&#39;&amp;"));
}

#[test]
fn subjects_are_those_the_service_always_sent() {
    let templates = built_in();
    let subject =
        |notice: Notice<'_>, locale| templates.render(notice, &to(), locale).unwrap().subject;
    let link = Notice::sample("set-password-link").unwrap();
    assert_eq!(subject(link, Locale::En), "Set your password");
    assert_eq!(subject(link, Locale::De), "Passwort festlegen");
    assert_eq!(
        subject(Notice::PasswordSet, Locale::De),
        "Ihr Passwort wurde festgelegt"
    );
    assert_eq!(
        subject(Notice::CriticalDataDeleted, Locale::En),
        "Your saved payment methods were removed"
    );
    let otp = [
        Notice::OtpEnrolmentStarted,
        Notice::OtpActivated,
        Notice::OtpRemoved,
    ];
    for locale in LOCALES {
        let distinct: std::collections::HashSet<String> =
            otp.iter().map(|n| subject(*n, locale)).collect();
        assert_eq!(distinct.len(), otp.len(), "{distinct:?}");
    }
}

#[test]
fn neither_a_notice_nor_a_mail_shows_its_secret_in_debug() {
    let notice = Notice::ResetCode {
        code: "K7Q2XZ",
        link: Some("https://x.example/r?code=K7Q2XZ"),
        valid_minutes: 60,
    };
    let mail = built_in().render(notice, &to(), Locale::En).unwrap();
    for shown in [format!("{notice:?}"), format!("{mail:?}")] {
        assert!(!shown.contains("K7Q2XZ"), "{shown}");
    }
}

#[test]
fn an_override_replaces_its_template_and_the_others_stay() {
    let overrides = Overrides::with(&[
        ("en/password-set.subject.txt", "Welcome aboard\n"),
        ("layout.html", "<!DOCTYPE html><html lang=\"{{ locale }}\"><body class=\"acme\">{% block content %}{% endblock %}{% block footer %}{% endblock %}</body></html>\n"),
        (".DS_Store", "not a template"),
    ]);
    let templates = Templates::load(Some(&overrides.0)).unwrap();
    assert_eq!(
        templates.overridden(),
        ["en/password-set.subject.txt", "layout.html"]
    );
    let mail = templates
        .render(Notice::PasswordSet, &to(), Locale::En)
        .unwrap();
    assert_eq!(mail.subject, "Welcome aboard");
    assert!(mail.html.expose().contains("class=\"acme\""));
    let german = templates
        .render(Notice::PasswordSet, &to(), Locale::De)
        .unwrap();
    assert_eq!(german.subject, "Ihr Passwort wurde festgelegt");
    assert!(
        german.html.expose().contains("class=\"acme\""),
        "one layout for all"
    );
}

#[test]
fn an_override_that_does_not_render_is_refused_by_name() {
    let cases = [
        (
            "de/reset-code.txt",
            "{{ code }} {{ unknown_value }}",
            "undefined",
        ),
        (
            "en/password-changed.html",
            "{% extends \"en/layout.html\" %}{% block content %}",
            "syntax",
        ),
        (
            "en/otp-removed.subject.txt",
            "Line one\nline two",
            "one line",
        ),
        // A value of another message: the notice has no link.
        ("en/password-reset.txt", "Open {{ link }}", "undefined"),
    ];
    for (name, source, why) in cases {
        let overrides = Overrides::with(&[(name, source)]);
        let error = Templates::load(Some(&overrides.0)).unwrap_err();
        assert_eq!(error.name, name, "{error}");
        assert!(error.reason.contains(why), "{name}: {error}");
    }
}

#[test]
fn a_file_that_is_no_template_of_the_service_is_refused_by_name() {
    let overrides = Overrides::with(&[("en/pasword-set.html", "typo")]);
    let error = Templates::load(Some(&overrides.0)).unwrap_err();
    assert_eq!(error.name, "en/pasword-set.html");
    let missing = Templates::load(Some(Path::new("/nonexistent/mail-templates"))).unwrap_err();
    assert!(missing.reason.contains("cannot be read"), "{missing}");
}

#[test]
fn a_branch_only_the_second_sample_takes_is_checked_too() {
    // The reset code's text without a link: only the sample without a
    // link renders the `else` branch.
    let overrides = Overrides::with(&[(
        "en/reset-code.txt",
        "{% if link %}{{ link }}{% else %}{{ no_such_value }}{% endif %}\n",
    )]);
    let error = Templates::load(Some(&overrides.0)).unwrap_err();
    assert_eq!(error.name, "en/reset-code.txt", "{error}");
}

#[test]
fn a_preview_writes_both_parts_of_every_message_in_every_locale() {
    let templates = built_in();
    let out = Overrides::with(&[]);
    for notice in Notice::SAMPLES {
        for locale in LOCALES {
            let preview = templates.write_preview(*notice, locale, &out.0).unwrap();
            let html = std::fs::read_to_string(&preview.html).unwrap();
            let text = std::fs::read_to_string(&preview.text).unwrap();
            let name = format!("{}.{}", notice.name(), locale.as_str());
            assert!(
                preview.html.ends_with(format!("{name}.html")),
                "{preview:?}"
            );
            assert!(html.contains("</html>") && !text.contains("</"), "{name}");
            assert!(!preview.subject.is_empty());
        }
    }
}

#[test]
fn a_directory_with_every_template_overrides_them_all_and_the_load_is_timed() {
    // The cold-start cost of MAIL_TEMPLATES_DIR, printed for the docs
    // (`cargo test -p password-service --release a_directory_with_every -- --nocapture`):
    // the built-in set against the same set read from a directory.
    let all = Overrides::with(BUILT_IN);
    let rounds = 20;
    let time = |dir: Option<&Path>| {
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            Templates::load(dir).unwrap();
        }
        started.elapsed() / rounds
    };
    let (built_in, overridden) = (time(None), time(Some(&all.0)));
    println!("Templates::load: built-in {built_in:?}, every template overridden {overridden:?}");
    assert_eq!(
        Templates::load(Some(&all.0)).unwrap().overridden().len(),
        BUILT_IN.len()
    );
}
