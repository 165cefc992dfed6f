//! The `htu` comparison of RFC 9449 §4.3 check 9: the proof's URI and the endpoint's, both
//! without query and fragment, after RFC 3986 §6.2.2 syntax-based normalisation (case,
//! percent-encoding, dot segments) and §6.2.3 scheme-based normalisation (default port,
//! empty path).

/// `uri` normalised for comparison, or `None` if it is not an absolute `http`/`https` URI
/// with a host (nothing else can name one of our endpoints).
pub fn normalise(uri: &str) -> Option<String> {
    // RFC 9449 §4.3: "without query and fragment parts".
    let uri = uri.split(['?', '#']).next()?;
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if host.is_empty() {
        return None;
    }
    let host = percent_normalise(host)?.to_ascii_lowercase();
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok()?;
        if port.to_string() != default_port {
            out.push_str(&format!(":{port}"));
        }
    }
    // §6.2.3: an empty path is "/".
    let path = if path.is_empty() { "/" } else { path };
    out.push_str(&remove_dot_segments(&percent_normalise(path)?));
    Some(out)
}

/// The host and the port (after `:`, possibly empty), minding IPv6 literals' colons.
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    Some(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2: hex digits of a percent-encoding in upper case, and an
/// encoded unreserved character decoded. `None` for a broken encoding.
fn percent_normalise(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let c = text[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

/// RFC 3986 §5.2.4 on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *part {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn equivalent_uris_normalise_alike() {
        let endpoint = "https://server.example.com/oauth/token";
        for uri in [
            "https://server.example.com/oauth/token",
            "HTTPS://Server.Example.COM/oauth/token",
            "https://server.example.com:443/oauth/token",
            "https://server.example.com/oauth/token?x=1",
            "https://server.example.com/oauth/token#frag",
            "https://server.example.com/oauth/./token",
            "https://server.example.com/a/../oauth/token",
            "https://server.example.com/%6Fauth/token",
        ] {
            assert_eq!(
                normalise(uri).as_deref(),
                Some(endpoint),
                "{uri} should equal the endpoint"
            );
        }
        assert_eq!(
            normalise("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/")
        );
        assert_eq!(
            normalise("http://[::1]:80/x%2fy").as_deref(),
            Some("http://[::1]/x%2Fy")
        );
    }

    #[test]
    fn different_uris_stay_different() {
        let endpoint = normalise("https://server.example.com/oauth/token");
        for uri in [
            "http://server.example.com/oauth/token",
            "https://server.example.com:8443/oauth/token",
            "https://other.example.com/oauth/token",
            "https://server.example.com/oauth/Token",
            "https://server.example.com/oauth/token/",
            "https://server.example.com/oauth/userinfo",
        ] {
            assert_ne!(normalise(uri), endpoint, "{uri}");
        }
    }

    #[test]
    fn non_http_or_broken_uris_are_refused() {
        for uri in [
            "",
            "/oauth/token",
            "ftp://server.example.com/oauth/token",
            "https://user@server.example.com/oauth/token",
            "https:///oauth/token",
            "https://server.example.com:44x3/oauth/token",
            "https://server.example.com/%zz",
            "https://[::1/x",
        ] {
            assert_eq!(normalise(uri), None, "{uri}");
        }
    }
}
