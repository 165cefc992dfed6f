//! The login session of the authorization pages: a signed cookie (HMAC-SHA256 under the
//! configured session key, so that every grantd instance sharing the key accepts it),
//! `HttpOnly`, `SameSite=Lax`, host-only with `Path=/`; on an https issuer `__Host-`
//! prefixed and `Secure`. It carries a random nonce (which the CSRF tokens derive from),
//! and after a login the user's id, name and session stamp. It carries no secret: the
//! signature only stops forgery, and the stamp lets the server end it (logout, password
//! change, disabling) although the cookie itself lives on in the browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_domain::SessionClaim;
use grantd_ports::{SessionStamp, UnixTime, UserId, Username};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The cookie's name on an https issuer. RFC 6265bis §4.1.3.2: a browser keeps a
/// `__Host-` cookie only if it is `Secure`, has no `Domain` and has `Path=/`, so neither a
/// sibling subdomain nor a plain-http page can plant or shadow it.
pub const SECURE_COOKIE_NAME: &str = "__Host-grantd_session";
/// The name on an http issuer (development): browsers refuse a `__Host-` cookie that is
/// not `Secure`, so the prefix cannot be used there; the scope is the same (host-only,
/// `Path=/`).
pub const PLAIN_COOKIE_NAME: &str = "grantd_session";

/// The session cookie's name for this deployment.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE_NAME
    } else {
        PLAIN_COOKIE_NAME
    }
}

/// What the MAC covers before the payload. Changed from the first version's `session:` when
/// the cookie moved to `Path=/` and gained the stamp, so that a leftover cookie of the old
/// path (sent first, being more specific) is ignored instead of shadowing the new one.
const SEAL_LABEL: &[u8] = b"session:v2:";

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
    /// The user's session stamp at login; the session ends when the user's stamp changes.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
    #[serde(rename = "e")]
    pub expires_at: UnixTime,
    /// When the user logged in (OpenID Connect `auth_time`, `max_age`).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    /// The authorization request this session's login was made for
    /// ([`request_digest`]): that request counts as freshly authenticated
    /// (`prompt=login`, `max_age`) when the browser comes back to it after the login.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub login_for: Option<String>,
}

/// A short digest of an authorization request's query, for [`Session::login_for`].
pub fn request_digest(query: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(&Sha256::digest(query.as_bytes())[..16])
}

impl Session {
    /// A session with nobody signed in yet: what a login form's CSRF token derives from.
    pub fn anonymous(nonce: String, expires_at: UnixTime) -> Self {
        Self {
            nonce,
            user_id: None,
            username: None,
            stamp: None,
            expires_at,
            auth_time: None,
            login_for: None,
        }
    }

    /// The session of a user who logged in at `auth_time`, under a fresh `nonce` (a
    /// session planted before the login is worth nothing after it); `login_for` is the
    /// authorization request the login was made for, if any ([`request_digest`]).
    pub fn signed_in(
        nonce: String,
        expires_at: UnixTime,
        user: (&UserId, &Username, &SessionStamp),
        auth_time: UnixTime,
        login_for: Option<String>,
    ) -> Self {
        Self {
            user_id: Some(user.0.as_str().to_owned()),
            username: Some(user.1.as_str().to_owned()),
            stamp: Some(user.2.as_str().to_owned()),
            auth_time: Some(auth_time),
            login_for,
            ..Self::anonymous(nonce, expires_at)
        }
    }

    /// Who the session says is logged in, if it has a user and every part parses.
    pub fn claim(&self) -> Option<SessionClaim> {
        Some(SessionClaim {
            user_id: UserId::parse(self.user_id.as_deref()?).ok()?,
            username: Username::parse(self.username.as_deref()?).ok()?,
            stamp: SessionStamp::parse(self.stamp.as_deref()?).ok()?,
            auth_time: self.auth_time,
        })
    }

    /// Whether this session's login was made for the request with this query.
    pub fn logged_in_for(&self, query: &str) -> bool {
        self.login_for.as_deref() == Some(request_digest(query).as_str())
    }

    /// `payload.signature`, both base64url.
    pub fn seal(&self, key: &SessionKey) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let tag = key
            .mac(SEAL_LABEL, payload.as_bytes())
            .finalize()
            .into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The session in a cookie value, if its signature is good and it has not expired.
    pub fn open(value: &str, key: &SessionKey, now: UnixTime) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        key.mac(SEAL_LABEL, payload.as_bytes())
            .verify_slice(&tag)
            .ok()?;
        let session: Session =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (now < session.expires_at).then_some(session)
    }

    /// The `Set-Cookie` value; `secure` when the issuer is https.
    pub fn cookie(&self, key: &SessionKey, max_age: i64, secure: bool) -> String {
        set_cookie(&self.seal(key), max_age, secure)
    }
}

/// The `Set-Cookie` value that removes the session cookie (logout).
pub fn removal_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// Every value of our cookie in a `Cookie` header, in the order sent (a browser may send
/// several of one name, e.g. one left from an older path).
pub fn from_cookie_header(header: &str, secure: bool) -> impl Iterator<Item = &str> {
    let name = cookie_name(secure);
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
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
            stamp: Some("st1".into()),
            expires_at: 100,
            auth_time: Some(90),
            login_for: Some(request_digest("response_type=code&client_id=web")),
        }
    }

    #[test]
    fn a_login_counts_as_fresh_only_for_the_request_it_was_made_for() {
        let s = session();
        assert!(s.logged_in_for("response_type=code&client_id=web"));
        assert!(!s.logged_in_for("response_type=code&client_id=web&prompt=login"));
        let sealed = s.seal(&key(1));
        let opened = Session::open(&sealed, &key(1), 50).unwrap();
        assert_eq!(opened.claim().unwrap().auth_time, Some(90));
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
    fn short_keys_are_refused_and_cookies_are_host_only_httponly_lax() {
        assert!(SessionKey::new(vec![0; 31]).is_none());
        let plain = session().cookie(&key(1), 60, false);
        assert!(plain.starts_with("grantd_session="), "{plain}");
        assert!(plain.ends_with("; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"));
        let secure = session().cookie(&key(1), 60, true);
        assert!(secure.starts_with("__Host-grantd_session="), "{secure}");
        assert!(secure.ends_with("; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"));
        for cookie in [&plain, &secure] {
            assert!(!cookie.contains("Domain"), "{cookie}");
        }
        assert_eq!(
            removal_cookie(true),
            "__Host-grantd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn only_the_deployments_cookie_name_is_read() {
        let header =
            "a=b; grantd_session=plain1; __Host-grantd_session=host; grantd_session=plain2";
        assert_eq!(
            from_cookie_header(header, false).collect::<Vec<_>>(),
            ["plain1", "plain2"]
        );
        // On https an unprefixed cookie (which a sibling host could have planted) is ignored.
        assert_eq!(
            from_cookie_header(header, true).collect::<Vec<_>>(),
            ["host"]
        );
    }

    #[test]
    fn a_claim_needs_the_user_and_the_stamp() {
        let claim = session().claim().unwrap();
        assert_eq!(
            (
                claim.user_id.as_str(),
                claim.username.as_str(),
                claim.stamp.as_str()
            ),
            ("u1", "alice", "st1")
        );
        // A session sealed before stamps existed, or before login, names nobody.
        let mut old = session();
        old.stamp = None;
        assert_eq!(old.claim(), None);
        let mut anonymous = session();
        anonymous.user_id = None;
        assert_eq!(anonymous.claim(), None);
    }

    #[test]
    fn a_cookie_sealed_under_the_first_label_does_not_open() {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&session()).unwrap());
        let tag = key(1)
            .mac(b"session:", payload.as_bytes())
            .finalize()
            .into_bytes();
        let old = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag));
        assert_eq!(Session::open(&old, &key(1), 1), None);
    }
}
