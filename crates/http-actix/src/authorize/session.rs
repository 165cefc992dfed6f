//! The login session of the authorization pages: a signed cookie (HMAC-SHA256 under the
//! configured session key, so that every grantd instance sharing the key accepts it),
//! `HttpOnly`, `SameSite=Lax`, limited to `/oauth`. It carries a random nonce (which the
//! CSRF tokens derive from), and after a login the user's id and name. It carries no
//! secret: the signature only stops forgery.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_ports::{UnixTime, UserId, Username};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const COOKIE_NAME: &str = "grantd_session";

/// The key that signs sessions and derives CSRF tokens (at least 32 bytes).
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    /// `None` if shorter than 32 bytes.
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 32).then_some(Self(bytes))
    }

    pub(crate) fn mac(&self, label: &[u8], data: &[u8]) -> Hmac<Sha256> {
        // Any key length is valid for HMAC.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac());
        mac.update(label);
        mac.update(data);
        mac
    }
}

#[allow(clippy::panic)]
fn unreachable_mac() -> Hmac<Sha256> {
    panic!("HMAC accepts keys of any length")
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Random, fresh at every login (no session fixation); CSRF tokens derive from it.
    #[serde(rename = "n")]
    pub nonce: String,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(rename = "e")]
    pub expires_at: UnixTime,
}

impl Session {
    /// The logged-in user, if the session has one and it parses.
    pub fn user(&self) -> Option<(UserId, Username)> {
        let id = UserId::parse(self.user_id.as_deref()?).ok()?;
        let name = Username::parse(self.username.as_deref()?).ok()?;
        Some((id, name))
    }

    /// `payload.signature`, both base64url.
    pub fn seal(&self, key: &SessionKey) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let tag = key
            .mac(b"session:", payload.as_bytes())
            .finalize()
            .into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The session in a cookie value, if its signature is good and it has not expired.
    pub fn open(value: &str, key: &SessionKey, now: UnixTime) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        key.mac(b"session:", payload.as_bytes())
            .verify_slice(&tag)
            .ok()?;
        let session: Session =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (now < session.expires_at).then_some(session)
    }

    /// The `Set-Cookie` value. `Secure` when the request came over TLS.
    pub fn cookie(&self, key: &SessionKey, max_age: i64, secure: bool) -> String {
        format!(
            "{COOKIE_NAME}={}; Path=/oauth; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            self.seal(key),
            if secure { "; Secure" } else { "" }
        )
    }
}

/// The value of our cookie in a `Cookie` header, if present.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(byte: u8) -> SessionKey {
        SessionKey::new(vec![byte; 32]).unwrap()
    }

    fn session() -> Session {
        Session {
            nonce: "n1".into(),
            user_id: Some("u1".into()),
            username: Some("alice".into()),
            expires_at: 100,
        }
    }

    #[test]
    fn sealed_sessions_open_with_the_same_key_until_they_expire() {
        let sealed = session().seal(&key(1));
        assert_eq!(Session::open(&sealed, &key(1), 99), Some(session()));
        assert_eq!(Session::open(&sealed, &key(1), 100), None);
        assert_eq!(Session::open(&sealed, &key(2), 99), None);
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let sealed = session().seal(&key(1));
        let (_, tag) = sealed.split_once('.').unwrap();
        let mut forged = session();
        forged.user_id = Some("admin".into());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(Session::open(&format!("{payload}.{tag}"), &key(1), 1), None);
        assert_eq!(Session::open("garbage", &key(1), 1), None);
    }

    #[test]
    fn short_keys_are_refused_and_cookies_are_httponly_lax() {
        assert!(SessionKey::new(vec![0; 31]).is_none());
        let cookie = session().cookie(&key(1), 60, false);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
        assert!(session().cookie(&key(1), 60, true).ends_with("; Secure"));
        assert_eq!(
            from_cookie_header("a=b; grantd_session=xyz; c=d"),
            Some("xyz")
        );
    }
}
