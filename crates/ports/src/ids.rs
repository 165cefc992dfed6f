//! Validated identifiers: each has a checking constructor, a private field and borrowed getters.

use std::fmt;

/// A value that failed validation; the message names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// RFC 6749 Appendix A.1: `client-id = *VSCHAR` (%x20-7E). We also refuse the empty id,
/// surrounding spaces and anything over 128 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.is_empty() || value.len() > 128 {
            return Err(InvalidValue("client_id must be 1 to 128 characters".into()));
        }
        if !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) || value.trim() != value {
            return Err(InvalidValue(
                "client_id has characters outside %x20-7E".into(),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6749 Appendix A.15: `username = *UNICODECHARNOCRLF`. We refuse the empty name,
/// control characters and anything over 256 bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.is_empty() || value.len() > 256 {
            return Err(InvalidValue("username must be 1 to 256 bytes".into()));
        }
        if value.chars().any(char::is_control) {
            return Err(InvalidValue("username has control characters".into()));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts 1 to 64 characters of `[A-Za-z0-9_-]` (what our minter produces).
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(InvalidValue(concat!(stringify!($name), " must be 1 to 64 characters of [A-Za-z0-9_-]").into()))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// The id of one authorization (a grant): it owns a family of access and refresh tokens.
    GrantId
);
opaque_id!(
    /// A user's stable id (the `sub` of introspection); usernames are for logging in.
    UserId
);
opaque_id!(
    /// A random value per user that every login session carries and must match: replacing
    /// it (password change, disabling, logout) ends every session of that user at once.
    /// Not a secret: the session cookie is signed, so it only has to change.
    SessionStamp
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_rules() {
        assert!(ClientId::parse("app-1").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(" app").is_err());
        assert!(ClientId::parse("a\u{7f}").is_err());
        assert!(ClientId::parse("é").is_err());
        assert!(ClientId::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn username_rules() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("zoë").is_ok());
        assert!(Username::parse("a\nb").is_err());
        assert!(Username::parse("").is_err());
    }

    #[test]
    fn opaque_ids_accept_minted_shapes_only() {
        assert!(GrantId::parse("abc_DEF-123").is_ok());
        assert!(GrantId::parse("a b").is_err());
        assert!(UserId::parse("").is_err());
    }
}
