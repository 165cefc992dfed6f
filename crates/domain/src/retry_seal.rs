//! The sealed retry record: the response of a rotation, encrypted under a key derived from
//! the refresh token that was presented (HKDF-SHA256 into ChaCha20-Poly1305). Only a
//! client that holds that token can open it; the database alone cannot.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

use grantd_ports::{PlainToken, ScopeSet};

use crate::TokenResponse;

const INFO: &[u8] = b"grantd refresh retry v1";
const SALT_LEN: usize = 22;

/// Seals `response` under `presented`. `salt` is fresh randomness for this record (a
/// minted id): with it every record has its own key, so the fixed nonce is never reused.
pub fn seal(presented: &PlainToken, salt: &str, response: &TokenResponse) -> Vec<u8> {
    let salt = normalise_salt(salt);
    let cipher = cipher(presented, &salt);
    let plain = encode(response);
    // Encryption with a valid key and nonce cannot fail for a message this small.
    let sealed = cipher
        .encrypt(&Nonce::default(), plain.as_bytes())
        .unwrap_or_default();
    let mut out = salt.to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Opens a record sealed by [`seal`]; `None` if it was not sealed under `presented`
/// or was tampered with.
pub fn open(presented: &PlainToken, record: &[u8]) -> Option<TokenResponse> {
    if record.len() < SALT_LEN {
        return None;
    }
    let (salt, sealed) = record.split_at(SALT_LEN);
    let plain = cipher(presented, salt)
        .decrypt(&Nonce::default(), sealed)
        .ok()?;
    decode(std::str::from_utf8(&plain).ok()?)
}

fn normalise_salt(salt: &str) -> [u8; SALT_LEN] {
    let mut out = [0u8; SALT_LEN];
    for (o, b) in out.iter_mut().zip(salt.bytes()) {
        *o = b;
    }
    out
}

fn cipher(presented: &PlainToken, salt: &[u8]) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(salt), presented.expose().as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(INFO, &mut key);
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// Tokens and scopes never hold a newline, so lines are an unambiguous framing.
fn encode(r: &TokenResponse) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.access_token.expose(),
        r.expires_in,
        r.scope.to_delimited(),
        r.refresh_token.as_ref().map_or("", |t| t.expose()),
        r.id_token.as_ref().map_or("", |t| t.expose()),
        if r.dpop_bound { "DPoP" } else { "" }
    )
}

fn decode(s: &str) -> Option<TokenResponse> {
    let mut lines = s.split('\n');
    let access = lines.next()?;
    let expires_in = lines.next()?.parse().ok()?;
    let scope = ScopeSet::parse(lines.next()?).ok()?;
    let refresh = lines.next()?;
    // Records sealed before id tokens existed have four lines.
    let id_token = lines.next().unwrap_or_default();
    // And those sealed before DPoP have five.
    let dpop_bound = lines.next() == Some("DPoP");
    Some(TokenResponse {
        access_token: PlainToken::from_presented(access),
        expires_in,
        scope,
        refresh_token: (!refresh.is_empty()).then(|| PlainToken::from_presented(refresh)),
        id_token: (!id_token.is_empty()).then(|| PlainToken::from_presented(id_token)),
        dpop_bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_ports::TokenKind;

    fn response() -> TokenResponse {
        TokenResponse {
            access_token: TokenKind::Access.encode(&[1; 32]),
            expires_in: 3600,
            scope: ScopeSet::parse("read write").unwrap(),
            refresh_token: Some(TokenKind::Refresh.encode(&[2; 32])),
            id_token: Some(PlainToken::from_presented("eyJhbGciOiJFUzI1NiJ9.e30.c2ln")),
            dpop_bound: true,
        }
    }

    #[test]
    fn a_record_sealed_before_id_tokens_still_opens() {
        let old = format!(
            "{}\n3600\nread\n",
            TokenKind::Access.encode(&[1; 32]).expose()
        );
        let decoded = decode(&old).unwrap();
        assert_eq!((decoded.refresh_token, decoded.id_token), (None, None));
        assert_eq!(decoded.scope, ScopeSet::parse("read").unwrap());
    }

    #[test]
    fn round_trips_only_under_the_presented_token() {
        let presented = TokenKind::Refresh.encode(&[3; 32]);
        let sealed = seal(&presented, "c2FsdHNhbHRzYWx0c2FsdA", &response());
        assert_eq!(open(&presented, &sealed), Some(response()));
        let other = TokenKind::Refresh.encode(&[4; 32]);
        assert_eq!(open(&other, &sealed), None);
    }

    #[test]
    fn sealed_record_does_not_contain_the_tokens() {
        let presented = TokenKind::Refresh.encode(&[3; 32]);
        let sealed = seal(&presented, "salt", &response());
        let r = response();
        let needle = r.access_token.expose().as_bytes();
        assert!(!sealed.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn tampering_is_detected() {
        let presented = TokenKind::Refresh.encode(&[3; 32]);
        let mut sealed = seal(&presented, "salt", &response());
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(open(&presented, &sealed), None);
    }
}
