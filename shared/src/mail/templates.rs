//! The emails' words and look as templates (minijinja): for each message and
//! locale a subject, an HTML part and a plain-text part, the HTML parts framed
//! by one shared `layout.html`. The defaults are compiled in; an operator's
//! directory (`MAIL_TEMPLATES_DIR`) may replace any of them. Every template
//! is rendered with its message's sample values when the set is loaded, so a
//! broken one stops the function at start-up, named, instead of failing the
//! mail of some later request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::{MailError, Notice, OutgoingMail};
use crate::domain::{Email, Locale, Secret};

/// The locales with templates; a user's locale without them gets the first.
const LOCALES: [Locale; 2] = [Locale::En, Locale::De];

/// The three parts of a message; `.html` names are HTML-escaped.
const PARTS: [&str; 3] = ["subject.txt", "html", "txt"];

macro_rules! built_in {
    ($($name:expr),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/mail/", $name)))),*]
    };
}

macro_rules! messages {
    ($($locale:literal),*) => {
        built_in![
            "layout.html",
            $(
                concat!($locale, "/layout.html"),
                concat!($locale, "/set-password-link.subject.txt"),
                concat!($locale, "/set-password-link.html"),
                concat!($locale, "/set-password-link.txt"),
                concat!($locale, "/reset-code.subject.txt"),
                concat!($locale, "/reset-code.html"),
                concat!($locale, "/reset-code.txt"),
                concat!($locale, "/password-set.subject.txt"),
                concat!($locale, "/password-set.html"),
                concat!($locale, "/password-set.txt"),
                concat!($locale, "/password-changed.subject.txt"),
                concat!($locale, "/password-changed.html"),
                concat!($locale, "/password-changed.txt"),
                concat!($locale, "/password-reset.subject.txt"),
                concat!($locale, "/password-reset.html"),
                concat!($locale, "/password-reset.txt"),
                concat!($locale, "/critical-data-deleted.subject.txt"),
                concat!($locale, "/critical-data-deleted.html"),
                concat!($locale, "/critical-data-deleted.txt"),
                concat!($locale, "/otp-enrolment-started.subject.txt"),
                concat!($locale, "/otp-enrolment-started.html"),
                concat!($locale, "/otp-enrolment-started.txt"),
                concat!($locale, "/otp-activated.subject.txt"),
                concat!($locale, "/otp-activated.html"),
                concat!($locale, "/otp-activated.txt"),
                concat!($locale, "/otp-removed.subject.txt"),
                concat!($locale, "/otp-removed.html"),
                concat!($locale, "/otp-removed.txt"),
            )*
        ]
    };
}

/// The default templates (shared/templates/mail), by name.
const BUILT_IN: &[(&str, &str)] = messages!("en", "de");

/// A template that does not load or does not render with its message's
/// sample values, or a file of the overrides that is no template.
#[derive(Debug, thiserror::Error)]
#[error("mail template {name}: {reason}")]
pub struct TemplateError {
    pub name: String,
    pub reason: String,
}

/// The loaded templates, checked; built once per cold start.
pub struct Templates {
    env: Environment<'static>,
    /// Which templates came from the overrides directory (for `pwctl`).
    overridden: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overridden", &self.overridden)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The compiled-in templates, overridden by those in `overrides` where
    /// given. Every file there must have the name of a default template
    /// (`en/password-set.html`, `layout.html`, …): a misspelt name would
    /// otherwise be ignored without a word.
    pub fn load(overrides: Option<&Path>) -> Result<Self, TemplateError> {
        let mut sources: BTreeMap<String, String> = BUILT_IN
            .iter()
            .map(|(name, source)| (name.to_string(), source.to_string()))
            .collect();
        let mut overridden = Vec::new();
        if let Some(dir) = overrides {
            for (name, source) in read_overrides(dir)? {
                if !sources.contains_key(&name) {
                    return Err(TemplateError {
                        reason: "not the name of a template this service uses \
                                 (see shared/templates/mail)"
                            .into(),
                        name,
                    });
                }
                sources.insert(name.clone(), source);
                overridden.push(name);
            }
            overridden.sort();
        }
        let mut env = Environment::new();
        env.set_syntax(
            SyntaxConfig::builder()
                // A text part ends with its newline, as written in its file.
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters"),
        );
        // A value a message does not have is an error, not an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(|out, state, value| {
            if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
                write!(out, "{}", HtmlEscaped(&value.to_string())).map_err(minijinja::Error::from)
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        for (name, source) in sources {
            env.add_template_owned(name.clone(), source)
                .map_err(|e| TemplateError {
                    name,
                    reason: describe(&e),
                })?;
        }
        let templates = Self { env, overridden };
        templates.check()?;
        Ok(templates)
    }

    /// The names of the templates taken from the overrides directory.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Renders every part of every message in every locale with the sample
    /// values, and checks that each subject is one line.
    fn check(&self) -> Result<(), TemplateError> {
        for notice in Notice::SAMPLES {
            for locale in LOCALES {
                for part in PARTS {
                    let name = format!("{}/{}.{part}", locale.as_str(), notice.name());
                    let rendered =
                        self.render_part(&name, notice, locale)
                            .map_err(|e| TemplateError {
                                reason: describe(&e),
                                name: name.clone(),
                            })?;
                    if part == "subject.txt" && (rendered.is_empty() || rendered.contains('\n')) {
                        return Err(TemplateError {
                            name,
                            reason: "a subject must be one line, not empty".into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn render_part(
        &self,
        name: &str,
        notice: &Notice<'_>,
        locale: Locale,
    ) -> Result<String, minijinja::Error> {
        let rendered = self
            .env
            .get_template(name)?
            .render(notice.variables(locale))?;
        Ok(if name.ends_with(".subject.txt") {
            rendered.trim().to_string()
        } else {
            rendered
        })
    }

    /// The email of `notice` for `to`, in `locale`.
    ///
    /// An error names the template and the kind of failure only: a minijinja
    /// message may quote a value, and the values include the link and the code.
    pub fn render(
        &self,
        notice: Notice<'_>,
        to: &Email,
        locale: Locale,
    ) -> Result<OutgoingMail, MailError> {
        // Every locale has built-in templates today; one added to `Locale`
        // before its templates are written gets English.
        let locale = if LOCALES.contains(&locale) {
            locale
        } else {
            LOCALES[0]
        };
        let part = |part: &str| {
            let name = format!("{}/{}.{part}", locale.as_str(), notice.name());
            self.render_part(&name, &notice, locale)
                .map_err(|e| MailError(format!("template {name} failed: {:?}", e.kind())))
        };
        Ok(OutgoingMail {
            to: to.clone(),
            subject: part("subject.txt")?,
            html: Secret::new(part("html")?),
            text: Secret::new(part("txt")?),
        })
    }
}

/// What `pwctl mail preview` wrote: the subject, and the two parts' files.
#[derive(Debug)]
pub struct Preview {
    pub subject: String,
    pub html: PathBuf,
    pub text: PathBuf,
}

impl Templates {
    /// Renders `notice` (a sample) in `locale` into `dir` as
    /// `<message>.<locale>.html` and `<message>.<locale>.txt`, for an operator
    /// to look at before deploying.
    pub fn write_preview(
        &self,
        notice: Notice<'_>,
        locale: Locale,
        dir: &Path,
    ) -> Result<Preview, String> {
        let to = Email::parse("preview@example.com").expect("an address");
        let mail = self
            .render(notice, &to, locale)
            .map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = |extension: &str, content: &str| {
            let path = dir.join(format!("{}.{}.{extension}", notice.name(), locale.as_str()));
            std::fs::write(&path, content)
                .map(|()| path.clone())
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        Ok(Preview {
            html: file("html", mail.html.expose())?,
            text: file("txt", mail.text.expose())?,
            subject: mail.subject,
        })
    }
}

/// A minijinja error without the values it may quote: kind, detail about
/// the template (a syntax error, an unknown variable), where.
fn describe(error: &minijinja::Error) -> String {
    let mut text = format!("{}", error.kind());
    if let Some(detail) = error.detail() {
        let _ = write!(text, ": {detail}");
    }
    if let (Some(name), Some(line)) = (error.name(), error.line()) {
        let _ = write!(text, " (in {name}, line {line})");
    }
    text
}

/// The override files under `dir`, named by their path below it with `/`
/// (`de/password-set.html`); dot files (an editor's, a file manager's) are
/// skipped.
fn read_overrides(dir: &Path) -> Result<Vec<(String, String)>, TemplateError> {
    let unreadable = |name: &Path, e: std::io::Error| TemplateError {
        name: name.display().to_string(),
        reason: format!("cannot be read: {e}"),
    };
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| unreadable(&folder, e))? {
            let path = entry.map_err(|e| unreadable(&folder, e))?.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)
                .expect("below the directory")
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let source = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
            found.push((name, source));
        }
    }
    Ok(found)
}

/// HTML escaping of a value in text or in a quoted attribute: `& < > " '`.
/// minijinja's own escaping also turns `/` into `&#x2f;`, which HTML does not
/// need, and which would write every link as `https:&#x2f;&#x2f;…`: hard to
/// read in the source, and entity-obfuscated links are what spam filters
/// look for.
struct HtmlEscaped<'a>(&'a str);

impl std::fmt::Display for HtmlEscaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
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
            let dir = std::env::temp_dir()
                .join(format!("mail-templates-{}", crate::domain::random_hex(6)));
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
        println!(
            "Templates::load: built-in {built_in:?}, every template overridden {overridden:?}"
        );
        assert_eq!(
            Templates::load(Some(&all.0)).unwrap().overridden().len(),
            BUILT_IN.len()
        );
    }
}
