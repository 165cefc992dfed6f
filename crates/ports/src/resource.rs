//! `ResourceSet`: validated RFC 8707 resource indicators (absolute URIs without a
//! fragment), as a grant or an authorization code records them. Which resources exist and
//! what a request may name is the domain's rule; this type only guarantees the syntax.

use std::collections::BTreeSet;
use std::fmt;

use crate::InvalidValue;

/// A set of resource URIs. Ordered so that its stored form is canonical; a URI never
/// contains a space (RFC 3986 has none among its characters), so the stored form is the
/// URIs separated by one space.
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct ResourceSet(BTreeSet<String>);

impl ResourceSet {
    /// Most resources one request or grant may name; more is treated as malformed.
    pub const MAX_RESOURCES: usize = 16;
    /// The longest resource URI accepted.
    pub const MAX_URI_LEN: usize = 2048;

    /// Checks one `resource` value (RFC 8707 §2): "MUST be an absolute URI, as specified
    /// by Section 4.3 of RFC 3986" and "MUST NOT include a fragment component". The error
    /// says which rule the value broke, and is safe for an `error_description`.
    pub fn check_uri(value: &str) -> Result<(), InvalidValue> {
        if value.contains('#') {
            return Err(InvalidValue("resource must not include a fragment".into()));
        }
        if value.len() > Self::MAX_URI_LEN || !is_absolute_uri(value) {
            return Err(InvalidValue("resource must be an absolute URI".into()));
        }
        Ok(())
    }

    /// The set of these URIs, each checked by [`ResourceSet::check_uri`]; duplicates
    /// collapse.
    pub fn from_uris<S: AsRef<str>>(
        uris: impl IntoIterator<Item = S>,
    ) -> Result<Self, InvalidValue> {
        let mut set = BTreeSet::new();
        for uri in uris {
            let uri = uri.as_ref();
            Self::check_uri(uri)?;
            set.insert(uri.to_owned());
            if set.len() > Self::MAX_RESOURCES {
                return Err(InvalidValue("too many resources".into()));
            }
        }
        Ok(Self(set))
    }

    /// Parses the stored form ([`ResourceSet::to_delimited`]); '' is the empty set.
    pub fn parse(stored: &str) -> Result<Self, InvalidValue> {
        Self::from_uris(stored.split(' ').filter(|u| !u.is_empty()))
    }

    pub fn empty() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, uri: &str) -> bool {
        self.0.contains(uri)
    }

    pub fn is_subset(&self, other: &ResourceSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The URIs of `self` that are not in `other`.
    pub fn difference<'a>(&'a self, other: &'a ResourceSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The URIs in order, owned (e.g. as a token's audience).
    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }

    /// The canonical stored form: the URIs in order, separated by one space.
    pub fn to_delimited(&self) -> String {
        self.iter().collect::<Vec<_>>().join(" ")
    }
}

/// RFC 3986 §4.3 `absolute-URI = scheme ":" hier-part [ "?" query ]`: a scheme
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), a colon, something after it, and only
/// characters a URI may hold (unreserved, reserved, or a `%HH` escape). A fragment is
/// checked apart, for its own message.
fn is_absolute_uri(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok && !rest.is_empty() && uri_chars_ok(rest)
}

/// Every byte is unreserved or reserved (RFC 3986 §2.2, §2.3) but `#`, or starts a `%HH`.
fn uri_chars_ok(rest: &str) -> bool {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'['
                    | b']'
                    | b'@'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        if !allowed {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Debug for ResourceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceSet({:?})", self.to_delimited())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_uris_without_a_fragment_are_resources() {
        for good in [
            "https://api.example/",
            "https://api.example",
            "https://api.example:8443/v1/items?tenant=a%20b",
            "urn:example:resource",
            "http://[::1]:8080/",
        ] {
            assert_eq!(ResourceSet::check_uri(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn relative_malformed_and_fragment_uris_are_refused_with_their_reason() {
        for (bad, reason) in [
            ("https://api.example/#top", "fragment"),
            ("#", "fragment"),
            ("/relative/path", "absolute"),
            ("api.example", "absolute"),
            ("https:", "absolute"),
            ("1https://x", "absolute"),
            ("https://api.example/a b", "absolute"),
            ("https://api.example/%zz", "absolute"),
            ("https://api.example/\u{e9}", "absolute"),
            ("", "absolute"),
        ] {
            let err = ResourceSet::check_uri(bad).unwrap_err();
            assert!(err.0.contains(reason), "{bad:?}: {err}");
        }
        let long = format!(
            "https://api.example/{}",
            "a".repeat(ResourceSet::MAX_URI_LEN)
        );
        assert!(ResourceSet::check_uri(&long).is_err());
    }

    #[test]
    fn the_stored_form_is_canonical_and_round_trips() {
        let set = ResourceSet::from_uris([
            "https://b.example/",
            "https://a.example/",
            "https://b.example/",
        ])
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.to_delimited(), "https://a.example/ https://b.example/");
        assert_eq!(ResourceSet::parse(&set.to_delimited()).unwrap(), set);
        assert!(ResourceSet::parse("").unwrap().is_empty());
        assert!(ResourceSet::parse("not-a-uri").is_err());
    }

    #[test]
    fn subset_and_difference() {
        let all = ResourceSet::from_uris(["https://a.example/", "https://b.example/"]).unwrap();
        let one = ResourceSet::from_uris(["https://b.example/"]).unwrap();
        assert!(one.is_subset(&all));
        assert!(!all.is_subset(&one));
        assert_eq!(
            all.difference(&one).collect::<Vec<_>>(),
            ["https://a.example/"]
        );
    }

    #[test]
    fn too_many_resources_are_refused() {
        let many: Vec<String> = (0..=ResourceSet::MAX_RESOURCES)
            .map(|i| format!("https://r{i}.example/"))
            .collect();
        assert!(ResourceSet::from_uris(&many).is_err());
    }
}
