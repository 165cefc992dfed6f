//! The scopes a token carries (RFC 6749 §3.3: space-delimited, case-sensitive, unordered).

use std::collections::BTreeSet;
use std::fmt;

/// A token's scopes, as a set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Reads a space-delimited `scope` value; empty parts (repeated spaces) are ignored.
    pub fn from_delimited(value: &str) -> Self {
        Self(
            value
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// The scopes of `required` this set lacks, in the order given.
    pub fn missing<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|s| !self.contains(s))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Space-delimited, as the `scope` claim and parameter are written.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_a_set_read_from_a_space_delimited_value() {
        let s = Scopes::from_delimited("write  read read");
        assert_eq!(s.to_string(), "read write");
        assert!(s.contains("read") && !s.contains("Read"), "case-sensitive");
        assert_eq!(s.missing(&["read", "admin", "x"]), vec!["admin", "x"]);
        assert!(Scopes::from_delimited("").is_empty());
    }
}
