//! Where the authorization endpoint sends the browser back to the client (RFC 6749
//! §4.1.2, §4.1.2.1): the redirect URI with the code or the error, and the state; and
//! where a logout sends it (RP-Initiated Logout §3: the registered address and `state`).

use grantd_domain::authorize_request::ErrorRedirect;
use grantd_domain::CodeRedirect;

/// §3.1.2: the redirect URI may have a query, which must be kept.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

pub(super) fn error_location(r: &ErrorRedirect) -> String {
    let mut pairs = vec![
        ("error", r.error),
        ("error_description", r.description.as_str()),
    ];
    if let Some(state) = &r.state {
        pairs.push(("state", state));
    }
    with_query(&r.redirect_uri, &pairs)
}

pub(super) fn code_location(r: &CodeRedirect) -> String {
    let mut pairs = vec![("code", r.code.expose())];
    if let Some(state) = &r.state {
        pairs.push(("state", state));
    }
    with_query(&r.redirect_uri, &pairs)
}

/// A registered post-logout redirect URI with the request's `state`, if any.
pub(super) fn post_logout_location(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(state) => with_query(uri, &[("state", state)]),
        None => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_query_is_kept_and_values_are_encoded() {
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("code", "a b&c")]),
            "https://a.example/cb?x=1&code=a+b%26c"
        );
        assert_eq!(
            with_query("https://a.example/cb", &[("error", "access_denied")]),
            "https://a.example/cb?error=access_denied"
        );
        assert_eq!(
            post_logout_location("https://a.example/bye?x=1", Some("s 1")),
            "https://a.example/bye?x=1&state=s+1"
        );
        assert_eq!(
            post_logout_location("https://a.example/bye", None),
            "https://a.example/bye"
        );
    }
}
