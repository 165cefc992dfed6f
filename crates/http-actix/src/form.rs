//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints
//! (RFC 6749 §3.1, §3.2): every parameter at most once (but `resource`, which RFC 8707
//! lets a request repeat), UTF-8 only, empty values treated as omitted, unknown parameters
//! ignored. Pure: no actix types, so it is fuzzable.

use std::collections::HashMap;

use percent_encoding::percent_decode;

/// A parsed form: each name maps to its one non-empty value; a repeatable parameter to
/// its non-empty values, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form {
    single: HashMap<String, String>,
    repeated: HashMap<String, Vec<String>>,
}

/// Why a body is not an acceptable form. The message is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

/// Most parameters a form may hold; far above any OAuth request, a bound against abuse.
/// Each value of a repeated parameter counts.
const MAX_PARAMS: usize = 64;

/// The parameters a request may repeat: RFC 8707 §2 "Multiple resource parameters MAY be
/// used to indicate that the requested token is intended to be used at multiple resources".
const REPEATABLE: [&str; 1] = ["resource"];

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let body = std::str::from_utf8(body)
            .map_err(|_| FormError("the body is not valid UTF-8".into()))?;
        let mut seen: HashMap<String, Option<String>> = HashMap::new();
        let mut repeated: HashMap<String, Vec<String>> = HashMap::new();
        for (count, pair) in body.split('&').filter(|p| !p.is_empty()).enumerate() {
            if count >= MAX_PARAMS {
                return Err(FormError("too many parameters".into()));
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
            if REPEATABLE.contains(&name.as_str()) {
                let values = repeated.entry(name).or_default();
                // §3.1: an empty value is omitted.
                if !value.is_empty() {
                    values.push(value);
                }
                continue;
            }
            // §3.1: "Request and response parameters MUST NOT be included more than once."
            if seen.contains_key(&name) {
                return Err(FormError(format!(
                    "parameter {} is repeated",
                    printable(&name)
                )));
            }
            // §3.1: "Parameters sent without a value MUST be treated as if they were omitted."
            seen.insert(name, (!value.is_empty()).then_some(value));
        }
        Ok(Self {
            single: seen
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
            repeated,
        })
    }

    /// The value of a parameter sent at most once (never a repeatable one).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.single.get(name).map(String::as_str)
    }

    /// Every non-empty value of a repeatable parameter, in the order sent.
    pub fn all(&self, name: &str) -> &[String] {
        self.repeated.get(name).map_or(&[], Vec::as_slice)
    }

    /// The value of a parameter the request cannot do without.
    pub fn require(&self, name: &str) -> Result<&str, FormError> {
        self.get(name)
            .ok_or_else(|| FormError(format!("missing parameter {name}")))
    }
}

fn decode(raw: &str) -> Result<String, FormError> {
    let plus_as_space = raw.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError("a parameter is not valid UTF-8".into()))
}

/// A parameter name short enough for an `error_description`; the error response itself
/// replaces any character outside §5.2's set.
fn printable(name: &str) -> String {
    name.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let f = Form::parse(b"grant_type=password&username=a+b%21&password=p%26q").unwrap();
        assert_eq!(f.get("username"), Some("a b!"));
        assert_eq!(f.get("password"), Some("p&q"));
    }

    #[test]
    fn repeated_parameter_is_refused_even_when_empty() {
        assert!(Form::parse(b"a=1&a=2").is_err());
        assert!(Form::parse(b"a=&a=2").is_err());
    }

    #[test]
    fn resource_may_be_repeated_and_keeps_its_order() {
        let f = Form::parse(
            b"resource=https%3A%2F%2Fb.example%2F&scope=read&resource=&resource=urn%3Aa",
        )
        .unwrap();
        assert_eq!(f.all("resource"), ["https://b.example/", "urn:a"]);
        assert_eq!(f.get("resource"), None, "only through `all`");
        assert_eq!(f.get("scope"), Some("read"));
        assert!(Form::parse(b"scope=a").unwrap().all("resource").is_empty());
        // Every other parameter is still refused when repeated, beside resources.
        assert!(Form::parse(b"resource=urn%3Aa&resource=urn%3Ab&scope=a&scope=b").is_err());
    }

    #[test]
    fn repeated_resources_count_toward_the_parameter_bound() {
        let body: Vec<String> = (0..=MAX_PARAMS)
            .map(|i| format!("resource=urn:r{i}"))
            .collect();
        assert!(Form::parse(body.join("&").as_bytes()).is_err());
    }

    #[test]
    fn empty_values_are_omitted() {
        let f = Form::parse(b"scope=&grant_type=password").unwrap();
        assert_eq!(f.get("scope"), None);
        assert!(f.require("scope").is_err());
    }

    #[test]
    fn non_utf8_is_refused() {
        assert!(Form::parse(b"a=%ff").is_err());
        assert!(Form::parse(&[b'a', b'=', 0xff]).is_err());
    }

    #[test]
    fn too_many_parameters_is_refused() {
        let body: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert!(Form::parse(body.join("&").as_bytes()).is_err());
    }
}
