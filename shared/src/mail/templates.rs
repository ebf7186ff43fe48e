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
mod tests;
