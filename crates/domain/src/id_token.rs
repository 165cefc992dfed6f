//! OpenID Connect id tokens (Core §2, §3.1.3.6, §12.2): when a response carries one, and
//! what it says. A grant whose scope holds `openid` and that acts for a user gets an id
//! token at its first issuance and at every refresh; a refresh's id token repeats `iss`,
//! `sub`, `aud` and the original `auth_time`, with a new `iat` and no `nonce` (§12.2).
//! Signing is the JOSE adapter's; the claims and the rules are here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_ports::{IdTokenClaims, ScopeSet, SigningAlgorithm, Subject, UnixTime};
use sha2::{Digest, Sha256, Sha512};

use crate::OidcSettings;

/// The scope that makes a request an OpenID Connect one (Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// The scope that asks for a refresh token alongside `openid` (Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";
/// RFC 8176 §2: the user proved a password (the login page or the password grant).
const AMR_PASSWORD: &str = "pwd";

/// How and when the user authenticated for a grant, as the id token repeats it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authentication {
    /// Core §2 `auth_time`; `None` for client credentials and for grants made before it
    /// was recorded.
    pub auth_time: Option<UnixTime>,
    /// The authorization request's `nonce`, repeated in the first id token only.
    pub nonce: Option<String>,
}

/// Whether a response for `scope` acting for `subject` carries an id token.
pub fn is_due(scope: &ScopeSet, subject: &Subject) -> bool {
    scope.contains(OPENID) && matches!(subject, Subject::User { .. })
}

/// Whether a grant of `scope` may get a refresh token as far as OpenID Connect is
/// concerned: with `openid`, only if `offline_access` was granted too (when the setting
/// says so); without `openid`, always (the OAuth rules decide).
pub fn allows_refresh(settings: &OidcSettings, scope: &ScopeSet) -> bool {
    !(settings.refresh_requires_offline_access
        && scope.contains(OPENID)
        && !scope.contains(OFFLINE_ACCESS))
}

/// Core §3.1.3.6 `at_hash`: the left half of the hash of the access token's ASCII
/// octets, base64url. The hash is the one of the id token's `alg`: SHA-256 for RS256 and
/// ES256, SHA-512 for EdDSA with Ed25519 (the hash Ed25519 itself uses, as the OpenID
/// libraries do).
pub fn at_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match algorithm {
        SigningAlgorithm::Rs256 | SigningAlgorithm::Es256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
        SigningAlgorithm::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The claims of one id token for `user_id` at `client_id`, issued at `iat`, for the
/// access token `access_token` signed with `algorithm`.
#[allow(clippy::too_many_arguments)]
pub fn claims(
    settings: &OidcSettings,
    issuer: &str,
    client_id: &str,
    user_id: &str,
    authentication: &Authentication,
    iat: UnixTime,
    algorithm: SigningAlgorithm,
    access_token: &str,
) -> IdTokenClaims {
    IdTokenClaims {
        iss: issuer.to_owned(),
        sub: user_id.to_owned(),
        aud: client_id.to_owned(),
        iat,
        exp: iat.saturating_add(settings.id_token_lifetime),
        auth_time: authentication.auth_time,
        nonce: authentication.nonce.clone(),
        at_hash: Some(at_hash(algorithm, access_token)),
        amr: authentication
            .auth_time
            .map(|_| vec![AMR_PASSWORD.to_owned()])
            .unwrap_or_default(),
        name: None,
        preferred_username: None,
        email: None,
        email_verified: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use grantd_ports::{UserId, Username};

    use super::*;

    fn scope(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn at_hash_matches_the_core_example_and_uses_sha512_for_eddsa() {
        // OpenID Connect Core, Appendix A.3 / A.4: the access token and its at_hash.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            at_hash(SigningAlgorithm::Rs256, token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            at_hash(SigningAlgorithm::Es256, token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let eddsa = at_hash(SigningAlgorithm::EdDsa, token);
        // Half of SHA-512 is 32 bytes: 43 base64url characters.
        assert_eq!(eddsa.len(), 43);
        assert_eq!(
            eddsa,
            URL_SAFE_NO_PAD.encode(&Sha512::digest(token.as_bytes())[..32])
        );
    }

    #[test]
    fn only_openid_grants_of_users_get_id_tokens() {
        let user = Subject::User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
        };
        assert!(is_due(&scope("openid read"), &user));
        assert!(!is_due(&scope("read profile"), &user));
        assert!(!is_due(&scope("openid"), &Subject::Client));
    }

    #[test]
    fn openid_without_offline_access_gets_no_refresh_token_unless_configured() {
        let strict = OidcSettings::default();
        assert!(!allows_refresh(&strict, &scope("openid profile")));
        assert!(allows_refresh(&strict, &scope("openid offline_access")));
        assert!(allows_refresh(&strict, &scope("read write")));
        let lax = OidcSettings {
            refresh_requires_offline_access: false,
            ..strict
        };
        assert!(allows_refresh(&lax, &scope("openid profile")));
    }

    #[test]
    fn claims_carry_the_login_and_the_nonce_and_expire_after_the_lifetime() {
        let settings = OidcSettings {
            id_token_lifetime: 600,
            ..OidcSettings::default()
        };
        let login = Authentication {
            auth_time: Some(900),
            nonce: Some("n-0S6_WzA2Mj".into()),
        };
        let c = claims(
            &settings,
            "https://as.example",
            "web",
            "user-1",
            &login,
            1000,
            SigningAlgorithm::Es256,
            "gat_x",
        );
        assert_eq!(
            (c.iss.as_str(), c.sub.as_str(), c.aud.as_str()),
            ("https://as.example", "user-1", "web")
        );
        assert_eq!((c.iat, c.exp, c.auth_time), (1000, 1600, Some(900)));
        assert_eq!(c.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(c.amr, ["pwd"]);
        assert_eq!(
            c.at_hash.as_deref(),
            Some(at_hash(SigningAlgorithm::Es256, "gat_x").as_str())
        );
        // A grant from before auth_time was recorded claims no method either.
        let unknown = claims(
            &settings,
            "i",
            "web",
            "u",
            &Authentication::default(),
            1,
            SigningAlgorithm::Rs256,
            "t",
        );
        assert_eq!((unknown.auth_time, unknown.amr.len()), (None, 0));
    }
}
