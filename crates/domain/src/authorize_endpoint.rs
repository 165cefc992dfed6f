//! The authorization endpoint (`GET`/`POST /oauth/authorize`, RFC 6749 §4.1.1, §4.1.2):
//! check a request, log a user in, decide whether to ask for consent, and issue a code or
//! refuse. The pages around them are the HTTP adapter's; every rule is here or in the pure
//! modules it calls (`authorize_request`, `consent_rules`, `user_auth`).

use std::net::IpAddr;
use std::sync::Arc;

use grantd_ports::{
    AuthorizationCodeRecord, Consent, PlainToken, SessionStamp, StoreError, TokenKind, UnixTime,
    User, UserId, Username,
};

use crate::authorize_request::{
    self, AuthorizationRequest, AuthorizeError, AuthorizeParams, ErrorRedirect, RequestRules,
};
use crate::oidc_request::{self, NextStep, SignedIn};
use crate::user_auth::UserAuthenticator;
use crate::{
    accounts, consent_rules, AuthorizationSettings, LoginError, PortSet, ResourceRegistry,
    ScopePrompt, ScopeRegistry,
};

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

/// What the authorization endpoint does next with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    Login,
    /// Ask, listing each requested scope.
    Consent(Vec<ScopePrompt>),
    /// Issue the code.
    Approve,
    /// Redirect back with an error (`prompt=none` and a page was needed).
    Refuse(ErrorRedirect),
}

/// Who a login session says is signed in, as its (signed) cookie carries it; checked
/// against the user's current record by [`AuthorizeEndpoint::session_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaim {
    pub user_id: UserId,
    pub username: Username,
    /// The user's session stamp when the session began.
    pub stamp: SessionStamp,
    /// When the user logged in (OpenID Connect `auth_time`); `None` for a session made
    /// before this was recorded.
    pub auth_time: Option<UnixTime>,
}

/// The authorization endpoint's use case. Cheap to clone.
#[derive(Clone)]
pub struct AuthorizeEndpoint {
    ports: PortSet,
    settings: AuthorizationSettings,
    /// The same password budgets as the password grant.
    users: UserAuthenticator,
    /// The same registry as the token endpoint: default scopes and descriptions.
    scopes: Arc<ScopeRegistry>,
    /// The same resources as the token endpoint (RFC 8707).
    resources: Arc<ResourceRegistry>,
    /// Id tokens can be signed: `openid` may be granted.
    openid_available: bool,
}

impl AuthorizeEndpoint {
    pub(crate) fn new(
        ports: PortSet,
        settings: AuthorizationSettings,
        users: UserAuthenticator,
        scopes: Arc<ScopeRegistry>,
    ) -> Self {
        Self {
            ports,
            settings,
            users,
            scopes,
            resources: Arc::default(),
            openid_available: false,
        }
    }

    pub(crate) fn with_resources(mut self, resources: Arc<ResourceRegistry>) -> Self {
        self.resources = resources;
        self
    }

    pub(crate) fn with_openid(mut self, available: bool) -> Self {
        self.openid_available = available;
        self
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
        let rules = RequestRules {
            settings: &self.settings,
            scopes: &self.scopes,
            resources: &self.resources,
            openid_available: self.openid_available,
        };
        authorize_request::validate(params, client.as_ref(), &rules)
            .map_err(AuthorizeFailure::Invalid)
    }

    /// The endpoint's clock: when a login happens.
    pub fn now(&self) -> UnixTime {
        self.ports.clock.now()
    }

    /// Whether a login form may go on to [`AuthorizeEndpoint::log_in`] now, decided without
    /// blocking: with no password-check permit free it is refused at once.
    pub fn admit_login(&self) -> Result<(), LoginError> {
        Ok(crate::check_permits::free(&self.ports)?)
    }

    /// Checks a username and password sent from `source` on the login page, with the same
    /// rules and the same failure budgets as the password grant. Blocking: runs bcrypt.
    pub fn log_in(
        &self,
        username: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<User, LoginError> {
        self.users.authenticate(username, password, source)
    }

    /// The user a session names, if they still exist under that id, are not disabled, and
    /// still have the stamp the session was made with: a password change, a disabling or a
    /// logout replaced it, so every session made before it ends here.
    pub fn session_user(&self, claim: &SessionClaim) -> Result<Option<User>, StoreError> {
        let user = self.ports.users.find_user_by_username(&claim.username)?;
        Ok(user.filter(|u| u.id == claim.user_id && !u.disabled && u.session_stamp == claim.stamp))
    }

    /// Ends the login session `claim` names, and with it every other session of that user
    /// (a new stamp; SECURITY.md "Sessions"). Returns whether a live session ended; a
    /// session that was already void changes nothing. Grants are kept: the applications'
    /// tokens are not the login session (RFC 9700 §4.14.2 makes revoking them a MAY).
    pub fn log_out(&self, claim: &SessionClaim) -> Result<bool, StoreError> {
        let Some(user) = self.session_user(claim)? else {
            return Ok(false);
        };
        let stamp = accounts::new_session_stamp(&self.ports)?;
        self.ports.users.set_session_stamp(&user.id, &stamp)
    }

    /// Whether the user must be asked: no remembered consent to this client covers the
    /// requested scope.
    pub fn consent_needed(
        &self,
        user: &User,
        request: &AuthorizationRequest,
    ) -> Result<bool, StoreError> {
        Ok(self.consent_prompt(user, request)?.is_some())
    }

    /// What the consent page lists, or `None` when a remembered consent to this client
    /// covers the requested scope (no page): each requested scope with its description,
    /// marked when the user already allowed it to this client.
    pub fn consent_prompt(
        &self,
        user: &User,
        request: &AuthorizationRequest,
    ) -> Result<Option<Vec<ScopePrompt>>, StoreError> {
        let consent = self
            .ports
            .authorizations
            .find_consent(&user.id, &request.client.id)?;
        if consent_rules::covers(consent.as_ref(), &request.scope) {
            return Ok(None);
        }
        Ok(Some(consent_rules::prompt(
            consent.as_ref(),
            &request.scope,
            &self.scopes,
        )))
    }

    /// What happens next for `request`, by the OpenID Connect rules of `prompt` and
    /// `max_age` ([`oidc_request::next_step`]): `session` is the signed-in user, if any,
    /// with when they logged in.
    pub fn next_interaction(
        &self,
        session: Option<(&User, SignedIn)>,
        request: &AuthorizationRequest,
    ) -> Result<Interaction, StoreError> {
        let now = self.ports.clock.now();
        let consent = match session {
            Some((user, _)) => self
                .ports
                .authorizations
                .find_consent(&user.id, &request.client.id)?,
            None => None,
        };
        let remembered = consent_rules::covers(consent.as_ref(), &request.scope);
        let step = oidc_request::next_step(&request.oidc, session.map(|s| s.1), remembered, now);
        Ok(match step {
            NextStep::Login => Interaction::Login,
            NextStep::Approve => Interaction::Approve,
            NextStep::Consent => Interaction::Consent(consent_rules::prompt(
                consent.as_ref(),
                &request.scope,
                &self.scopes,
            )),
            NextStep::Refuse(error) => Interaction::Refuse(ErrorRedirect {
                redirect_uri: request.redirect_uri.clone(),
                error,
                description: match error {
                    "login_required" => "the user must sign in (prompt=none)".into(),
                    _ => "the user must consent (prompt=none)".into(),
                },
                state: request.state.clone(),
            }),
        })
    }

    /// The user allowed the request: remember the consent, mint a code bound to the client,
    /// the redirect URI, the user, the scope, the PKCE challenge, the nonce, the DPoP key
    /// (`dpop_jkt`) and the time the user logged in (`auth_time`), and store its hash.
    pub fn approve(
        &self,
        user: &User,
        auth_time: Option<UnixTime>,
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
            resources: request.resources.clone(),
            challenge: request.challenge.clone(),
            issued_at: now,
            expires_at: now.saturating_add(self.settings.code_lifetime),
            redeemed_at: None,
            grant_id: None,
            nonce: request.oidc.nonce.clone(),
            auth_time,
            dpop_jkt: request.dpop_jkt.as_ref().map(|k| k.as_str().to_owned()),
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
    use crate::test_support::{
        client, limits, Doubles, NOW, OTHER_SOURCE, PASSWORD, SOURCE, STAMP,
    };
    use crate::TokenSettings;

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
            resource: vec![],
            ..AuthorizeParams::default()
        }
    }

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: grantd_ports::SecretHash::from_stored(format!("hash:{PASSWORD}")),
            disabled: false,
            session_stamp: SessionStamp::parse(STAMP).unwrap(),
            profile: Default::default(),
            created_at: 0,
        }
    }

    fn claim(user_id: &str, stamp: &str) -> SessionClaim {
        SessionClaim {
            user_id: UserId::parse(user_id).unwrap(),
            username: Username::parse("alice").unwrap(),
            stamp: SessionStamp::parse(stamp).unwrap(),
            auth_time: None,
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
        let redirect = authorize
            .approve(&alice(), Some(NOW - 5), &request)
            .unwrap();
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
        assert_eq!(
            code.auth_time,
            Some(NOW - 5),
            "the login's time rides to the id token"
        );
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
        authorize
            .approve(&alice(), Some(NOW - 5), &request)
            .unwrap();
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
        // The page lists what is asked, with what was allowed before marked.
        let asked = AuthorizeParams {
            scope: Some("read write".into()),
            ..params()
        };
        let request = authorize.check_authorization_request(&asked).unwrap();
        let prompt = authorize
            .consent_prompt(&alice(), &request)
            .unwrap()
            .unwrap();
        let shown: Vec<(&str, &str, bool)> = prompt
            .iter()
            .map(|p| (p.scope.as_str(), p.description.as_str(), p.already_granted))
            .collect();
        assert_eq!(
            shown,
            [
                ("read", "Read your data", false),
                ("write", "Change your data", true)
            ]
        );
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
    fn login_checks_the_password_and_counts_failures_per_username_and_source() {
        let d = doubles().with_user(false);
        let authorize = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(2))
            .authorize;
        assert_eq!(
            authorize
                .log_in("alice", PASSWORD, SOURCE)
                .unwrap()
                .username
                .as_str(),
            "alice"
        );
        assert_eq!(
            authorize.log_in("alice", "wrong", SOURCE),
            Err(LoginError::BadCredentials)
        );
        assert_eq!(
            authorize.log_in("alice", "wrong", SOURCE),
            Err(LoginError::BadCredentials)
        );
        assert!(matches!(
            authorize.log_in("alice", PASSWORD, SOURCE),
            Err(LoginError::TooManyAttempts { .. })
        ));
        // Someone else's failures never lock alice out from her own address.
        assert!(authorize.log_in("alice", PASSWORD, OTHER_SOURCE).is_ok());
    }

    #[test]
    fn a_disabled_user_cannot_log_in_or_keep_a_session() {
        let authorize = doubles().with_user(true).authorize();
        assert_eq!(
            authorize.log_in("alice", PASSWORD, SOURCE),
            Err(LoginError::BadCredentials)
        );
        assert_eq!(authorize.session_user(&claim("u1", STAMP)).unwrap(), None);
    }

    #[test]
    fn a_session_for_a_recreated_user_of_the_same_name_is_void() {
        let authorize = doubles().with_user(false).authorize();
        assert_eq!(
            authorize.session_user(&claim("old-id", STAMP)).unwrap(),
            None
        );
        assert_eq!(
            authorize.session_user(&claim("u1", STAMP)).unwrap(),
            Some(alice())
        );
    }

    #[test]
    fn a_session_made_before_the_stamp_changed_is_void() {
        let authorize = doubles().with_user(false).authorize();
        assert_eq!(
            authorize
                .session_user(&claim("u1", "stamp-before"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn log_out_replaces_the_stamp_of_a_live_session_and_ignores_a_void_one() {
        let mut d = doubles().with_user(false);
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let s = stamps.clone();
        d.users
            .expect_set_session_stamp()
            .times(1)
            .returning(move |id, stamp| {
                assert_eq!(id.as_str(), "u1");
                s.lock().unwrap().push(stamp.clone());
                Ok(true)
            });
        d.tokens.expect_revoke_grants_of_user().never();
        let authorize = d.authorize();
        assert!(authorize.log_out(&claim("u1", STAMP)).unwrap());
        // Already void (an old stamp, another user's id): nothing is written.
        assert!(!authorize.log_out(&claim("u1", "stamp-before")).unwrap());
        assert!(!authorize.log_out(&claim("old-id", STAMP)).unwrap());
        let stamps = stamps.lock().unwrap();
        assert_ne!(stamps[0].as_str(), STAMP);
    }

    #[test]
    fn a_store_failure_while_logging_out_is_an_error() {
        let mut d = doubles().with_user(false);
        d.users
            .expect_set_session_stamp()
            .returning(|_, _| Err(StoreError::Unavailable("down".into())));
        let authorize = d.authorize();
        assert!(matches!(
            authorize.log_out(&claim("u1", STAMP)),
            Err(StoreError::Unavailable(_))
        ));
    }
}
