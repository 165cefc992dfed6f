//! A token is two types: the plain token handed to a client (random, prefixed, `Debug`
//! redacted, never stored) and its SHA-256 hash, the only form stored or compared.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What a token is for; its prefix lets secret scanners recognise a leaked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    AuthorizationCode,
    ClientSecret,
    /// RFC 7591 §3: lets its holder register a client.
    InitialAccess,
    /// RFC 7592 §1: lets a registered client read, change and delete its registration.
    RegistrationAccess,
}

impl TokenKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "gat_",
            TokenKind::Refresh => "grt_",
            TokenKind::AuthorizationCode => "gac_",
            TokenKind::ClientSecret => "gcs_",
            TokenKind::InitialAccess => "gia_",
            TokenKind::RegistrationAccess => "gra_",
        }
    }

    /// Random bytes behind each token: 256 bits, beyond RFC 6749 §10.10's 2^-160.
    pub const RANDOM_BYTES: usize = 32;

    /// Length of a well-formed token of any kind: prefix + base64url of 32 bytes.
    pub const ENCODED_LEN: usize = 4 + 43;

    /// Builds the plain token from its random bytes.
    pub fn encode(self, random: &[u8; Self::RANDOM_BYTES]) -> PlainToken {
        PlainToken(format!(
            "{}{}",
            self.prefix(),
            URL_SAFE_NO_PAD.encode(random)
        ))
    }

    /// Whether `value` has this kind's shape (prefix, length, alphabet). A cheap filter
    /// before any lookup; a well-formed token may still be unknown.
    pub fn is_well_formed(self, value: &str) -> bool {
        value.len() == Self::ENCODED_LEN
            && value.starts_with(self.prefix())
            && value[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// A token as handed to a client. Never stored, never logged: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

impl PlainToken {
    /// Wraps a token received from a client, unchecked (unknown tokens simply match nothing).
    pub fn from_presented(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// SHA-256 of a plain token: the stored form. A fast hash is right here: tokens carry 256
/// random bits, so they cannot be brute-forced, and a lookup needs an exact, indexed key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(plain: &str) -> Self {
        Self(Sha256::digest(plain.as_bytes()).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From a stored column; `None` if it is not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    /// Only a short prefix: enough to correlate log lines, useless to an attacker.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenHash({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_tokens_are_well_formed_and_prefixed() {
        let t = TokenKind::Refresh.encode(&[7u8; 32]);
        assert!(t.expose().starts_with("grt_"));
        assert_eq!(t.expose().len(), TokenKind::ENCODED_LEN);
        assert!(TokenKind::Refresh.is_well_formed(t.expose()));
        assert!(!TokenKind::Access.is_well_formed(t.expose()));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = TokenKind::Access.encode(&[1u8; 32]);
        assert!(!format!("{t:?}").contains(&t.expose()[4..]));
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        let h = TokenHash::of("abc");
        assert_eq!(h.as_bytes()[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(PlainToken::from_presented("abc").hash(), h);
    }
}
