//! The key in a DPoP proof's header: public members only (RFC 9449 §4.3 check 7), and its
//! RFC 7638 thumbprint, the value a bound token carries as `cnf.jkt` (RFC 9449 §6.1).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1,
/// RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The RFC 7638 thumbprint of a public key, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jkt(String);

impl Jkt {
    /// A thumbprint as stored (a bound token's `dpop_jkt`).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// A thumbprint a client sent (RFC 9449 §10 `dpop_jkt`): base64url without padding of
    /// a SHA-256 digest, so exactly 43 characters that decode to 32 bytes; else `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(value).ok()?;
        (value.len() == 43 && decoded.len() == 32).then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a header's `jwk` cannot bind anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwkProblem {
    #[error("the jwk holds a private key")]
    Private,
    #[error("the jwk lacks a required member or has an unknown kty")]
    Incomplete,
}

/// The thumbprint of `jwk` (its members as the adapter read them): the SHA-256 of the JSON
/// object of the required members only, in lexicographic order, without whitespace
/// (RFC 7638 §3.2, §3.3). A key with any private member is refused.
pub fn thumbprint(jwk: &BTreeMap<String, String>) -> Result<Jkt, JwkProblem> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(JwkProblem::Private);
    }
    // RFC 7638 §3.2 (already in lexicographic order).
    let required: &[&str] = match jwk.get("kty").map(String::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        Some("RSA") => &["e", "kty", "n"],
        _ => return Err(JwkProblem::Incomplete),
    };
    let mut canonical = String::from("{");
    for (i, name) in required.iter().enumerate() {
        let value = jwk.get(*name).ok_or(JwkProblem::Incomplete)?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&json_string(name));
        canonical.push(':');
        canonical.push_str(&json_string(value));
    }
    canonical.push('}');
    Ok(Jkt(
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    ))
}

/// A JSON string literal (RFC 8259 §7). The members are base64url or short names, so the
/// escapes are for hostile input only: such a key fails the signature check anyway.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(members: &[(&str, &str)]) -> BTreeMap<String, String> {
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// RFC 7638 §3.1's example RSA key, with its non-required members.
    fn rfc7638_example() -> BTreeMap<String, String> {
        jwk(&[
            ("kty", "RSA"),
            (
                "n",
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            ),
            ("e", "AQAB"),
            ("alg", "RS256"),
            ("kid", "2011-04-29"),
        ])
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        assert_eq!(
            thumbprint(&rfc7638_example()).unwrap().as_str(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_sent_thumbprint_is_43_base64url_characters_of_a_sha256() {
        let good = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(Jkt::parse(good).map(|j| j.0), Some(good.to_owned()));
        for bad in [
            "",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=",
            "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9XsNzbLsXh8uDCcd",
            "not a thumbprint",
        ] {
            assert_eq!(Jkt::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn private_members_are_refused() {
        for member in PRIVATE_MEMBERS {
            let mut key = rfc7638_example();
            key.insert(member.to_owned(), "AQAB".to_owned());
            assert_eq!(thumbprint(&key), Err(JwkProblem::Private), "{member}");
        }
    }

    #[test]
    fn missing_members_and_unknown_types_are_refused() {
        let cases = [
            jwk(&[("kty", "EC"), ("crv", "P-256"), ("x", "AA")]),
            jwk(&[("kty", "OKP"), ("x", "AA")]),
            jwk(&[("kty", "RSA"), ("n", "AA")]),
            jwk(&[("kty", "oct"), ("k", "AA")]),
            jwk(&[("kty", "XYZ"), ("x", "AA")]),
            jwk(&[]),
        ];
        for key in cases {
            assert!(thumbprint(&key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn only_required_members_count() {
        let ec = jwk(&[("kty", "EC"), ("crv", "P-256"), ("x", "eA"), ("y", "eQ")]);
        let mut with_extras = ec.clone();
        with_extras.insert("kid".into(), "k1".into());
        with_extras.insert("use".into(), "sig".into());
        assert_eq!(thumbprint(&ec), thumbprint(&with_extras));
        let mut other = ec.clone();
        other.insert("y".into(), "eR".into());
        assert_ne!(thumbprint(&ec), thumbprint(&other));
    }
}
