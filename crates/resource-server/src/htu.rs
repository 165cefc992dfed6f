//! The `htu` comparison of RFC 9449 §4.3: the proof's URL and the request's, both without
//! query and fragment, compared after RFC 3986 §6 normalisation (the `url` crate's parse:
//! scheme and host in lower case, the default port dropped, dot segments removed, an
//! empty path as `/`).

use reqwest::Url;

/// The normalised form of an absolute `http(s)` URL without its query and fragment;
/// `None` for anything else.
pub(crate) fn normalize(url: &str) -> Option<String> {
    let mut url = Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// Whether the proof's `htu` names the request's URL.
pub(crate) fn matches(htu: &str, request_url: &str) -> bool {
    match (normalize(htu), normalize(request_url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        let request = "https://api.example/v1/hello";
        for htu in [
            "https://api.example/v1/hello",
            "HTTPS://API.Example/v1/hello",
            "https://api.example:443/v1/hello",
            "https://api.example/v1/./x/../hello",
            "https://api.example/v1/hello?page=2",
            "https://api.example/v1/hello#top",
        ] {
            assert!(matches(htu, request), "{htu}");
        }
        assert!(matches("http://api.example:80", "http://api.example/"));
    }

    #[test]
    fn another_url_does_not_match() {
        let request = "https://api.example/v1/hello";
        for htu in [
            "http://api.example/v1/hello",
            "https://api.example:8443/v1/hello",
            "https://api.example/v1/Hello",
            "https://api.example/v1/hello/",
            "https://other.example/v1/hello",
            "/v1/hello",
            "ftp://api.example/v1/hello",
            "",
        ] {
            assert!(!matches(htu, request), "{htu}");
        }
    }
}
