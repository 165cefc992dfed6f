//! `ScopeSet`: a validated, ordered set of RFC 6749 §3.3 scope tokens.

use std::collections::BTreeSet;
use std::fmt;

use crate::InvalidValue;

/// A set of scope tokens. Ordered so that its space-delimited form is canonical
/// (the same set always prints the same string).
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Most scope tokens a request may carry; more is treated as malformed.
    pub const MAX_TOKENS: usize = 64;

    /// Parses a space-delimited list (RFC 6749 §3.3). Each token must be
    /// `1*( %x21 / %x23-5B / %x5D-7E )` and at most 128 bytes; runs of spaces are tolerated.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if token.len() > 128 || !token.bytes().all(is_scope_char) {
                return Err(InvalidValue("scope has a malformed token".into()));
            }
            set.insert(token.to_owned());
            if set.len() > Self::MAX_TOKENS {
                return Err(InvalidValue("scope has too many tokens".into()));
            }
        }
        Ok(Self(set))
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

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens of `self` that are not in `other`.
    pub fn difference<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }

    /// The tokens of `self` for which `keep` holds: a subset, so always a valid set.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> ScopeSet {
        Self(self.0.iter().filter(|t| keep(t)).cloned().collect())
    }

    /// The canonical space-delimited form.
    pub fn to_delimited(&self) -> String {
        self.iter().collect::<Vec<_>>().join(" ")
    }
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({:?})", self.to_delimited())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_delimited())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_canonicalises() {
        let s = ScopeSet::parse("write  read read").unwrap();
        assert_eq!(s.to_delimited(), "read write");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn refuses_forbidden_characters() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "a\tb"] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subset_and_difference() {
        let all = ScopeSet::parse("a b c").unwrap();
        let some = ScopeSet::parse("a c").unwrap();
        assert!(some.is_subset(&all));
        assert!(!all.is_subset(&some));
        assert_eq!(all.difference(&some).collect::<Vec<_>>(), vec!["b"]);
    }

    #[test]
    fn filter_keeps_the_tokens_asked_for() {
        let all = ScopeSet::parse("read write profile").unwrap();
        let kept = all.filter(|t| t != "write");
        assert_eq!(kept.to_delimited(), "profile read");
        assert!(kept.is_subset(&all));
        assert!(all.filter(|_| false).is_empty());
    }

    #[test]
    fn refuses_too_many_tokens() {
        let many: Vec<String> = (0..=ScopeSet::MAX_TOKENS)
            .map(|i| format!("s{i}"))
            .collect();
        assert!(ScopeSet::parse(&many.join(" ")).is_err());
    }
}
