//! The one rule for every URL the service mails or fetches (set-password
//! and reset-code links, the issuer's keys): https, as a deployed stage's
//! are; plain http only to this machine, for the local stack and its tests.

/// Whether `url` is https, or http to a loopback host, without user info.
pub fn is_secure(url: &url::Url) -> bool {
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    url.username().is_empty()
        && url.password().is_none()
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
}

/// [`is_secure`] of a URL's text; one that does not parse is not.
pub fn is_secure_text(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| is_secure(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_secure() {
        for good in [
            "https://issuer.example/jwks",
            "http://127.0.0.1:4000/jwks",
            "http://localhost/jwks",
            "http://[::1]:9000/x",
        ] {
            assert!(is_secure_text(good), "{good}");
        }
        for bad in [
            "http://issuer.example/jwks",
            "https://user@issuer.example/jwks",
            "file:///etc/passwd",
            "jwks",
        ] {
            assert!(!is_secure_text(bad), "{bad}");
        }
    }
}
