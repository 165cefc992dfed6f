//! CSRF tokens for the login, consent and sign-out forms: HMAC of the session's nonce under the
//! session key, so a token is only good with the cookie it was made for. A cross-site form
//! cannot read it, and `SameSite=Lax` keeps the cookie off cross-site POSTs besides.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;

use super::session::{Session, SessionKey};

pub const FIELD: &str = "csrf_token";

pub fn token(key: &SessionKey, session: &Session) -> String {
    URL_SAFE_NO_PAD.encode(
        key.mac(b"csrf:", session.nonce.as_bytes())
            .finalize()
            .into_bytes(),
    )
}

/// Whether `presented` is the token of `session` (constant-time).
pub fn verify(key: &SessionKey, session: &Session, presented: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
        return false;
    };
    key.mac(b"csrf:", session.nonce.as_bytes())
        .verify_slice(&tag)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_token_is_good_only_for_its_session() {
        let key = SessionKey::new(vec![7; 32]).unwrap();
        let s = |n: &str| Session {
            nonce: n.into(),
            user_id: None,
            username: None,
            stamp: None,
            expires_at: 10,
            auth_time: None,
            login_for: None,
        };
        let t = token(&key, &s("a"));
        assert!(verify(&key, &s("a"), &t));
        assert!(!verify(&key, &s("b"), &t));
        assert!(!verify(&key, &s("a"), "not base64!"));
        assert!(!verify(&key, &s("a"), ""));
    }
}
