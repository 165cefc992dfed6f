//! The UserInfo endpoint (OpenID Connect Core §5.3): a bearer access token carrying
//! `openid` gets the claims about its user that the token's scope releases (§5.4:
//! `profile` → `name`, `preferred_username`; `email` → `email`, `email_verified`). The
//! token is checked exactly as at any protected resource (`BearerCheck`), and the user is
//! read fresh, so a rename shows at once and a disabled or deleted user gets nothing.

use grantd_ports::{ScopeSet, StoreError, Subject, User};

use crate::{BearerCheck, BearerError, PortSet, Presentation};

/// The scope that makes a token an OpenID Connect one (Core §3.1.2.1).
pub const OPENID_SCOPE: &str = "openid";

/// The standard claims a scope releases (Core §5.4), for userinfo and the id token alike.
/// `None` = not released, or the user has no such value: the claim is left out, never null.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileClaims {
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// The claims of `user` that `scope` releases (Core §5.4): `profile` releases the name and
/// the username (as `preferred_username`), `email` the address and whether it is verified
/// (only with an address: a verification of nothing says nothing). Pure.
pub fn released_claims(user: &User, scope: &ScopeSet) -> ProfileClaims {
    let profile = scope.contains("profile");
    let email = scope.contains("email") && user.profile.email.is_some();
    ProfileClaims {
        name: profile.then(|| user.profile.name.clone()).flatten(),
        preferred_username: profile.then(|| user.username.as_str().to_owned()),
        email: email.then(|| user.profile.email.clone()).flatten(),
        email_verified: email.then_some(user.profile.email_verified),
    }
}

/// The userinfo response (Core §5.3.2): `sub` (the user's id, as in the id token and a
/// JWT access token) and the released claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Userinfo {
    pub sub: String,
    pub claims: ProfileClaims,
}

/// Why the endpoint answers with an error (Core §5.3.3 → RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserinfoError {
    /// Unknown, expired or revoked token, or its user is gone or disabled: `invalid_token`.
    #[error("invalid_token")]
    InvalidToken,
    /// A good token without `openid`, or one acting for a client rather than a user (the
    /// client credentials grant): `insufficient_scope`.
    #[error("insufficient_scope")]
    InsufficientScope,
    /// As [`BearerError::InvalidDpopToken`].
    #[error("invalid_token (DPoP)")]
    InvalidDpopToken,
    /// As [`BearerError::InvalidDpopProof`].
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// As [`BearerError::UseDpopNonce`].
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BearerError> for UserinfoError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::InvalidToken => Self::InvalidToken,
            BearerError::InvalidDpopToken => Self::InvalidDpopToken,
            BearerError::InvalidDpopProof(why) => Self::InvalidDpopProof(why),
            BearerError::UseDpopNonce(nonce) => Self::UseDpopNonce(nonce),
            BearerError::Store(e) => Self::Store(e),
        }
    }
}

/// `GET`/`POST /oauth/userinfo`. Cheap to clone.
#[derive(Clone)]
pub struct UserinfoEndpoint {
    ports: PortSet,
    bearer: BearerCheck,
}

impl UserinfoEndpoint {
    pub(crate) fn new(ports: PortSet, bearer: BearerCheck) -> Self {
        Self { ports, bearer }
    }

    /// The userinfo of a presented access token (opaque or JWT). Blocking.
    pub fn respond(&self, presented: &str) -> Result<Userinfo, UserinfoError> {
        self.respond_to(presented, Presentation::Bearer)
    }

    /// As [`UserinfoEndpoint::respond`], for a token presented as `presentation` (a
    /// DPoP-bound one needs its proof, RFC 9449 §7).
    pub fn respond_to(
        &self,
        presented: &str,
        presentation: Presentation<'_>,
    ) -> Result<Userinfo, UserinfoError> {
        let active = self.bearer.check(presented, presentation)?;
        if !active.scope.contains(OPENID_SCOPE) {
            return Err(UserinfoError::InsufficientScope);
        }
        let Subject::User { id, username } = &active.subject else {
            return Err(UserinfoError::InsufficientScope);
        };
        // Read fresh: the grant's copy of the username names the row; the id must still
        // be the same user (not a new account under a reused name), and enabled.
        let user = self
            .ports
            .users
            .find_user_by_username(username)?
            .filter(|u| &u.id == id && !u.disabled)
            .ok_or(UserinfoError::InvalidToken)?;
        Ok(Userinfo {
            sub: user.id.as_str().to_owned(),
            claims: released_claims(&user, &active.scope),
        })
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::{
        AccessTokenState, PlainToken, SecretHash, SessionStamp, TokenKind, UserId, UserProfile,
        Username,
    };

    use super::*;
    use crate::jwt_access::PresentedTokens;
    use crate::test_support::*;

    fn alice(profile: UserProfile) -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: SecretHash::from_stored("h".into()),
            disabled: false,
            session_stamp: SessionStamp::parse("s").unwrap(),
            profile,
            created_at: 0,
        }
    }

    fn full() -> UserProfile {
        UserProfile {
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
        }
    }

    fn scope(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn each_scope_releases_its_own_claims_only() {
        let user = alice(full());
        let cases = [
            ("openid", ProfileClaims::default()),
            (
                "openid profile",
                ProfileClaims {
                    name: Some("Alice Liddell".into()),
                    preferred_username: Some("alice".into()),
                    ..Default::default()
                },
            ),
            (
                "openid email",
                ProfileClaims {
                    email: Some("alice@example.com".into()),
                    email_verified: Some(true),
                    ..Default::default()
                },
            ),
            (
                "openid profile email read",
                ProfileClaims {
                    name: Some("Alice Liddell".into()),
                    preferred_username: Some("alice".into()),
                    email: Some("alice@example.com".into()),
                    email_verified: Some(true),
                },
            ),
        ];
        for (granted, expected) in cases {
            assert_eq!(
                released_claims(&user, &scope(granted)),
                expected,
                "{granted}"
            );
        }
    }

    #[test]
    fn absent_values_are_left_out_not_invented() {
        let bare = alice(UserProfile::default());
        assert_eq!(
            released_claims(&bare, &scope("openid profile email")),
            ProfileClaims {
                preferred_username: Some("alice".into()),
                ..Default::default()
            },
            "no name, and no email_verified without an address"
        );
        let unverified = alice(UserProfile {
            email_verified: false,
            ..full()
        });
        assert_eq!(
            released_claims(&unverified, &scope("openid email")).email_verified,
            Some(false)
        );
    }

    /// The endpoint over doubles: a live access token with `scope` for `subject`, and the
    /// store's alice as `user` (None = gone).
    fn endpoint(
        granted: &str,
        subject: Subject,
        user: Option<User>,
    ) -> (UserinfoEndpoint, PlainToken) {
        let presented = TokenKind::Access.encode(&[4; 32]);
        let mut state: AccessTokenState = access_state("app", &presented);
        state.token.scope = scope(granted);
        state.grant.scope = scope(granted);
        state.grant.subject = subject;
        let mut d = Doubles::new();
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(state.clone())));
        d.users
            .expect_find_user_by_username()
            .returning(move |_| Ok(user.clone()));
        let ports = d.ports();
        let bearer = BearerCheck::new(ports.clone(), PresentedTokens::default());
        (UserinfoEndpoint::new(ports, bearer), presented)
    }

    fn as_alice() -> Subject {
        Subject::User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
        }
    }

    #[test]
    fn an_openid_token_gets_its_users_fresh_claims() {
        let (userinfo, token) = endpoint("openid profile", as_alice(), Some(alice(full())));
        let info = userinfo.respond(token.expose()).unwrap();
        assert_eq!(info.sub, "u1", "the user id, never the username");
        assert_eq!(info.claims.preferred_username.as_deref(), Some("alice"));
        assert_eq!(info.claims.email, None);
    }

    #[test]
    fn without_openid_or_a_user_the_scope_is_insufficient() {
        let (userinfo, token) = endpoint("read profile", as_alice(), Some(alice(full())));
        assert!(matches!(
            userinfo.respond(token.expose()),
            Err(UserinfoError::InsufficientScope)
        ));
        let (userinfo, token) = endpoint("openid", Subject::Client, None);
        assert!(matches!(
            userinfo.respond(token.expose()),
            Err(UserinfoError::InsufficientScope)
        ));
    }

    #[test]
    fn a_disabled_deleted_or_replaced_user_makes_the_token_invalid() {
        let disabled = User {
            disabled: true,
            ..alice(full())
        };
        let replaced = User {
            id: UserId::parse("u2").unwrap(),
            ..alice(full())
        };
        for user in [Some(disabled), Some(replaced), None] {
            let (userinfo, token) = endpoint("openid", as_alice(), user);
            assert!(matches!(
                userinfo.respond(token.expose()),
                Err(UserinfoError::InvalidToken)
            ));
        }
        let (userinfo, _) = endpoint("openid", as_alice(), None);
        assert!(matches!(
            userinfo.respond("garbage"),
            Err(UserinfoError::InvalidToken)
        ));
    }
}
