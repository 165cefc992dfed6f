//! The authorization endpoint (`GET`/`POST /oauth/authorize`, RFC 6749 §4.1.1, §4.1.2):
//! check a request, log a user in, decide whether to ask for consent, and issue a code or
//! refuse. The pages around them are the HTTP adapter's; every rule is here or in the pure
//! modules it calls (`authorize_request`, `consent_rules`, `user_auth`).

use grantd_ports::{
    AuthorizationCodeRecord, Consent, PlainToken, StoreError, TokenKind, User, UserId, Username,
};

use crate::authorize_request::{
    self, AuthorizationRequest, AuthorizeError, AuthorizeParams, ErrorRedirect,
};
use crate::user_auth::UserAuthenticator;
use crate::{consent_rules, AuthorizationSettings, LoginError, PortSet};

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthorizeFailure {
    Invalid(AuthorizeError),
    Store(StoreError),
}

/// A successful authorization (§4.1.2): where to send the user, with the code and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRedirect {
    pub redirect_uri: String,
    pub code: PlainToken,
    pub state: Option<String>,
}

/// The authorization endpoint's use case. Cheap to clone; clones share the limiter.
#[derive(Clone)]
pub struct AuthorizeEndpoint {
    ports: PortSet,
    settings: AuthorizationSettings,
    /// The same per-username limit as the password grant.
    users: UserAuthenticator,
}

impl AuthorizeEndpoint {
    pub(crate) fn new(
        ports: PortSet,
        settings: AuthorizationSettings,
        users: UserAuthenticator,
    ) -> Self {
        Self {
            ports,
            settings,
            users,
        }
    }

    /// The authorization code flow's policy (code lifetime, PKCE rules).
    pub fn settings(&self) -> &AuthorizationSettings {
        &self.settings
    }

    /// Looks the client up and validates the request against it.
    pub fn check_authorization_request(
        &self,
        params: &AuthorizeParams,
    ) -> Result<AuthorizationRequest, AuthorizeFailure> {
        let client = match params
            .client_id
            .as_deref()
            .map(grantd_ports::ClientId::parse)
        {
            Some(Ok(id)) => self
                .ports
                .clients
                .find_client(&id)
                .map_err(AuthorizeFailure::Store)?,
            // A malformed id names no client.
            _ => None,
        };
        authorize_request::validate(params, client.as_ref(), &self.settings)
            .map_err(AuthorizeFailure::Invalid)
    }

    /// Whether a login form may go on to [`AuthorizeEndpoint::log_in`] now, decided without
    /// blocking: with no password-check permit free it is refused at once.
    pub fn admit_login(&self) -> Result<(), LoginError> {
        Ok(crate::check_permits::free(&self.ports)?)
    }

    /// Checks a username and password on the login page, with the same rules and the same
    /// per-username failure limit as the password grant. Blocking: runs bcrypt.
    pub fn log_in(&self, username: &str, password: &str) -> Result<User, LoginError> {
        self.users.authenticate(username, password)
    }

    /// The user a session names, if they still exist under that id and are not disabled.
    pub fn session_user(
        &self,
        user_id: &UserId,
        username: &Username,
    ) -> Result<Option<User>, StoreError> {
        let user = self.ports.users.find_user_by_username(username)?;
        Ok(user.filter(|u| &u.id == user_id && !u.disabled))
    }

    /// Whether the user must be asked: no remembered consent to this client covers the
    /// requested scope.
    pub fn consent_needed(
        &self,
        user: &User,
        request: &AuthorizationRequest,
    ) -> Result<bool, StoreError> {
        let consent = self
            .ports
            .authorizations
            .find_consent(&user.id, &request.client.id)?;
        Ok(!consent_rules::covers(consent.as_ref(), &request.scope))
    }

    /// The user allowed the request: remember the consent, mint a code bound to the client,
    /// the redirect URI, the user, the scope and the PKCE challenge, and store its hash.
    pub fn approve(
        &self,
        user: &User,
        request: &AuthorizationRequest,
    ) -> Result<CodeRedirect, StoreError> {
        let now = self.ports.clock.now();
        let authorizations = &self.ports.authorizations;
        let previous = authorizations.find_consent(&user.id, &request.client.id)?;
        if !consent_rules::covers(previous.as_ref(), &request.scope) {
            authorizations.save_consent(&Consent {
                user_id: user.id.clone(),
                client_id: request.client.id.clone(),
                scope: consent_rules::remembered_scope(previous.as_ref(), &request.scope),
                created_at: now,
            })?;
        }
        let code = self.ports.minter.mint(TokenKind::AuthorizationCode);
        authorizations.insert_code(&AuthorizationCodeRecord {
            hash: code.hash(),
            client_id: request.client.id.clone(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            redirect_uri: request
                .redirect_uri_sent
                .then(|| request.redirect_uri.clone()),
            scope: request.scope.clone(),
            challenge: request.challenge.clone(),
            issued_at: now,
            expires_at: now.saturating_add(self.settings.code_lifetime),
            redeemed_at: None,
            grant_id: None,
        })?;
        Ok(CodeRedirect {
            redirect_uri: request.redirect_uri.clone(),
            code,
            state: request.state.clone(),
        })
    }

    /// The user denied the request (§4.1.2.1 `access_denied`). Nothing is stored.
    pub fn deny(&self, request: &AuthorizationRequest) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            error: "access_denied",
            description: "the user denied the request".into(),
            state: request.state.clone(),
        }
    }

    /// Forgets a user's consents (to one client or all); the next authorization asks again.
    pub fn revoke_consents(
        &self,
        user_id: &UserId,
        client_id: Option<&grantd_ports::ClientId>,
    ) -> Result<u64, StoreError> {
        self.ports
            .authorizations
            .revoke_consents(user_id, client_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use grantd_ports::{ClientId, GrantType, MockClientStore, ScopeSet, StoreError};

    use super::*;
    use crate::authorize_request::PageError;
    use crate::test_support::{client, Doubles, NOW, PASSWORD};
    use crate::{AttemptLimit, TokenSettings};

    const CB: &str = "https://web.example/cb";

    fn doubles() -> Doubles {
        let mut d = Doubles::new();
        d.clients = MockClientStore::new();
        d.clients.expect_find_client().returning(|id| {
            Ok((id.as_str() == "web").then(|| {
                let mut c = client("web", false);
                c.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
                c.redirect_uris = vec![CB.into()];
                c
            }))
        });
        d
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some("web".into()),
            redirect_uri: Some(CB.into()),
            scope: Some("read".into()),
            state: Some("st".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
        }
    }

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: grantd_ports::SecretHash::from_stored(format!("hash:{PASSWORD}")),
            disabled: false,
            created_at: 0,
        }
    }

    fn consent(scope: &str) -> Consent {
        Consent {
            user_id: UserId::parse("u1").unwrap(),
            client_id: ClientId::parse("web").unwrap(),
            scope: ScopeSet::parse(scope).unwrap(),
            created_at: 0,
        }
    }

    #[test]
    fn approve_stores_a_hashed_code_bound_to_everything_and_remembers_consent() {
        let mut d = doubles();
        d.authorizations
            .expect_find_consent()
            .returning(|_, _| Ok(None));
        let saved = Arc::new(Mutex::new(Vec::new()));
        let s = saved.clone();
        d.authorizations
            .expect_save_consent()
            .times(1)
            .returning(move |c| {
                s.lock().unwrap().push(c.clone());
                Ok(())
            });
        let stored = Arc::new(Mutex::new(Vec::new()));
        let st = stored.clone();
        d.authorizations
            .expect_insert_code()
            .times(1)
            .returning(move |c| {
                st.lock().unwrap().push(c.clone());
                Ok(())
            });
        let authorize = d
            .use_cases(TokenSettings::default())
            .with_authorization_settings(AuthorizationSettings {
                code_lifetime: 30,
                ..AuthorizationSettings::default()
            })
            .authorize;
        let request = authorize.check_authorization_request(&params()).unwrap();
        let redirect = authorize.approve(&alice(), &request).unwrap();
        assert_eq!(redirect.redirect_uri, CB);
        assert_eq!(redirect.state.as_deref(), Some("st"));
        assert!(TokenKind::AuthorizationCode.is_well_formed(redirect.code.expose()));

        let stored = stored.lock().unwrap();
        let code = &stored[0];
        assert_eq!(code.hash, redirect.code.hash(), "only the hash is stored");
        assert_eq!(code.client_id.as_str(), "web");
        assert_eq!(code.user_id.as_str(), "u1");
        assert_eq!(code.redirect_uri.as_deref(), Some(CB));
        assert_eq!(code.scope.to_delimited(), "read");
        assert_eq!(code.challenge, request.challenge);
        assert_eq!((code.issued_at, code.expires_at), (NOW, NOW + 30));
        assert_eq!(code.redeemed_at, None);
        assert_eq!(saved.lock().unwrap()[0].scope.to_delimited(), "read");
    }

    #[test]
    fn a_covering_consent_skips_the_page_and_is_not_rewritten() {
        let mut d = doubles();
        d.authorizations
            .expect_find_consent()
            .returning(|_, _| Ok(Some(consent("read write"))));
        d.authorizations.expect_save_consent().never();
        d.authorizations
            .expect_insert_code()
            .times(1)
            .returning(|_| Ok(()));
        let authorize = d.authorize();
        let request = authorize.check_authorization_request(&params()).unwrap();
        assert!(!authorize.consent_needed(&alice(), &request).unwrap());
        authorize.approve(&alice(), &request).unwrap();
    }

    #[test]
    fn a_narrower_consent_asks_again() {
        let mut d = doubles();
        d.authorizations
            .expect_find_consent()
            .returning(|_, _| Ok(Some(consent("write"))));
        let authorize = d.authorize();
        let request = authorize.check_authorization_request(&params()).unwrap();
        assert!(authorize.consent_needed(&alice(), &request).unwrap());
    }

    #[test]
    fn deny_is_access_denied_with_state_and_stores_nothing() {
        let mut d = doubles();
        d.authorizations.expect_insert_code().never();
        d.authorizations.expect_save_consent().never();
        let authorize = d.authorize();
        let request = authorize.check_authorization_request(&params()).unwrap();
        let e = authorize.deny(&request);
        assert_eq!((e.error, e.state.as_deref()), ("access_denied", Some("st")));
    }

    #[test]
    fn unknown_client_is_a_page_and_a_store_failure_is_not_a_denial() {
        let authorize = doubles().authorize();
        let p = AuthorizeParams {
            client_id: Some("nope".into()),
            ..params()
        };
        assert!(matches!(
            authorize.check_authorization_request(&p),
            Err(AuthorizeFailure::Invalid(AuthorizeError::Page(
                PageError::UnknownClient
            )))
        ));
        let mut d = Doubles::new();
        d.clients = MockClientStore::new();
        d.clients
            .expect_find_client()
            .returning(|_| Err(StoreError::Unavailable("down".into())));
        assert!(matches!(
            d.authorize().check_authorization_request(&params()),
            Err(AuthorizeFailure::Store(_))
        ));
    }

    #[test]
    fn login_checks_the_password_and_counts_failures_per_username() {
        let d = doubles().with_user(false);
        let limit = AttemptLimit {
            max_failures: 2,
            window_secs: 60,
        };
        let authorize = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limit, limit)
            .authorize;
        assert_eq!(
            authorize
                .log_in("alice", PASSWORD)
                .unwrap()
                .username
                .as_str(),
            "alice"
        );
        assert_eq!(
            authorize.log_in("alice", "wrong"),
            Err(LoginError::BadCredentials)
        );
        assert_eq!(
            authorize.log_in("alice", "wrong"),
            Err(LoginError::BadCredentials)
        );
        assert!(matches!(
            authorize.log_in("alice", PASSWORD),
            Err(LoginError::TooManyAttempts { .. })
        ));
    }

    #[test]
    fn a_disabled_user_cannot_log_in_or_keep_a_session() {
        let authorize = doubles().with_user(true).authorize();
        assert_eq!(
            authorize.log_in("alice", PASSWORD),
            Err(LoginError::BadCredentials)
        );
        let u = alice();
        assert_eq!(authorize.session_user(&u.id, &u.username).unwrap(), None);
    }

    #[test]
    fn a_session_for_a_recreated_user_of_the_same_name_is_void() {
        let authorize = doubles().with_user(false).authorize();
        let stale = UserId::parse("old-id").unwrap();
        let name = Username::parse("alice").unwrap();
        assert_eq!(authorize.session_user(&stale, &name).unwrap(), None);
        assert!(authorize
            .session_user(&UserId::parse("u1").unwrap(), &name)
            .unwrap()
            .is_some());
    }
}
