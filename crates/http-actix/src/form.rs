//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints
//! (RFC 6749 §3.1, §3.2): every parameter at most once, UTF-8 only, empty values treated
//! as omitted, unknown parameters ignored. Pure: no actix types, so it is fuzzable.

use std::collections::HashMap;

use percent_encoding::percent_decode;

/// A parsed form: each name maps to its one non-empty value.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Form(HashMap<String, String>);

/// Why a body is not an acceptable form. The message is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

/// Most parameters a form may hold; far above any OAuth request, a bound against abuse.
const MAX_PARAMS: usize = 64;

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let body = std::str::from_utf8(body)
            .map_err(|_| FormError("the body is not valid UTF-8".into()))?;
        let mut seen: HashMap<String, Option<String>> = HashMap::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            if seen.len() >= MAX_PARAMS {
                return Err(FormError("too many parameters".into()));
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name)?;
            let value = decode(value)?;
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
        Ok(Self(
            seen.into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
        ))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
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
