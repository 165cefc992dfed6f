//! Builders for the use-case tests: mockall doubles of every port, a fixed clock and a
//! counting minter, so that each test states only the interactions it is about.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use grantd_ports::{
    AccessToken, AccessTokenState, Client, ClientId, DomainEvent, GrantId, GrantRecord, GrantType,
    LifetimeOverrides, Metrics, MockClientStore, MockClock, MockSecretHasher, MockTokenMinter,
    MockTokenStore, MockUserStore, PasswordCheckPermits, PlainToken, RefreshToken,
    RefreshTokenState, ScopeSet, SecretHash, Subject, TokenHash, TokenKind, UnboundedChecks,
    UnixTime, User, UserId, Username,
};

use crate::{
    AuthorizeEndpoint, ClientCredentials, CredentialSource, GrantRequest, PortSet, TokenEndpoint,
    TokenRequest, TokenSettings, UseCases,
};

pub const NOW: UnixTime = 1_000_000;
pub const SECRET: &str = "s3cret";
pub const PASSWORD: &str = "hunter2";

/// The doubles before they are frozen into a `PortSet`; tests add expectations, then call
/// `ports` or `use_cases`.
pub struct Doubles {
    pub clients: MockClientStore,
    pub users: MockUserStore,
    pub tokens: MockTokenStore,
    pub authorizations: grantd_ports::MockAuthorizationStore,
    pub hasher: MockSecretHasher,
    /// The password-check permits: unbounded unless a test says otherwise.
    pub password_checks: Arc<dyn PasswordCheckPermits>,
    /// Every domain event recorded through the metrics port; clone it before freezing.
    pub events: Events,
}

/// A Metrics port that remembers what it was told, in order.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<DomainEvent>>>);

impl Events {
    pub fn recorded(&self) -> Vec<DomainEvent> {
        self.0.lock().unwrap().clone()
    }
}

impl Metrics for Events {
    fn record(&self, event: DomainEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Doubles {
    /// A known confidential client `app` (password, refresh_token, client_credentials;
    /// scopes "read write") and a hasher that accepts only SECRET and PASSWORD.
    pub fn new() -> Self {
        let mut clients = MockClientStore::new();
        clients.expect_find_client().returning(|id| {
            Ok(match id.as_str() {
                "app" => Some(client("app", true)),
                "public" => Some(client("public", false)),
                "narrow" => {
                    let mut c = client("narrow", true);
                    c.grant_types = vec![GrantType::ClientCredentials];
                    Some(c)
                }
                _ => None,
            })
        });
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .returning(|secret, hash| secret == hash.as_str().trim_start_matches("hash:"));
        Self {
            clients,
            users: MockUserStore::new(),
            tokens: MockTokenStore::new(),
            authorizations: grantd_ports::MockAuthorizationStore::new(),
            hasher,
            password_checks: Arc::new(UnboundedChecks),
            events: Events::default(),
        }
    }

    /// The use cases over these doubles, with default limits.
    pub fn use_cases(self, settings: TokenSettings) -> UseCases {
        UseCases::new(self.ports(), settings)
    }

    /// The token endpoint with the default settings and limits.
    pub fn token(self) -> TokenEndpoint {
        self.use_cases(TokenSettings::default()).token
    }

    /// The authorization endpoint with the default settings and limits.
    pub fn authorize(self) -> AuthorizeEndpoint {
        self.use_cases(TokenSettings::default()).authorize
    }

    /// The doubles frozen into ports, with a counting minter and the clock at NOW.
    pub fn ports(self) -> PortSet {
        let counter = Arc::new(AtomicU64::new(0));
        let mut minter = MockTokenMinter::new();
        let c = counter.clone();
        minter.expect_mint().returning(move |kind: TokenKind| {
            let n = c.fetch_add(1, Ordering::Relaxed);
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&n.to_be_bytes());
            kind.encode(&bytes)
        });
        minter
            .expect_mint_id()
            .returning(move || format!("id{}", counter.fetch_add(1, Ordering::Relaxed)));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        PortSet {
            clients: Arc::new(self.clients),
            users: Arc::new(self.users),
            tokens: Arc::new(self.tokens),
            authorizations: Arc::new(self.authorizations),
            hasher: Arc::new(self.hasher),
            password_checks: self.password_checks,
            minter: Arc::new(minter),
            clock: Arc::new(clock),
            metrics: Arc::new(self.events),
        }
    }

    /// `alice` with PASSWORD, enabled unless `disabled`.
    pub fn with_user(mut self, disabled: bool) -> Self {
        self.users
            .expect_find_user_by_username()
            .returning(move |name| {
                Ok((name.as_str() == "alice").then(|| User {
                    id: UserId::parse("u1").unwrap(),
                    username: Username::parse("alice").unwrap(),
                    password: SecretHash::from_stored(format!("hash:{PASSWORD}")),
                    disabled,
                    created_at: 0,
                }))
            });
        self
    }
}

pub fn client(id: &str, confidential: bool) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: id.to_owned(),
        secret: confidential.then(|| SecretHash::from_stored(format!("hash:{SECRET}"))),
        secret_version: 1,
        grant_types: vec![
            GrantType::Password,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        scopes: ScopeSet::parse("read write").unwrap(),
        redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        created_at: 0,
    }
}

pub fn basic(id: &str, secret: &str) -> Option<ClientCredentials> {
    Some(ClientCredentials {
        id: ClientId::parse(id).unwrap(),
        secret: Some(secret.to_owned()),
        source: CredentialSource::BasicHeader,
    })
}

pub fn id_only(id: &str) -> Option<ClientCredentials> {
    Some(ClientCredentials {
        id: ClientId::parse(id).unwrap(),
        secret: None,
        source: CredentialSource::IdOnly,
    })
}

/// A live refresh token of grant `g1`, issued to `client_id`.
pub fn refresh_state(client_id: &str) -> RefreshTokenState {
    RefreshTokenState {
        token: RefreshToken {
            hash: TokenHash::of("x"),
            grant_id: GrantId::parse("g1").unwrap(),
            issued_at: NOW - 10,
            expires_at: NOW + 1000,
            consumed_at: None,
            sealed_response: None,
        },
        grant: GrantRecord {
            id: GrantId::parse("g1").unwrap(),
            client_id: ClientId::parse(client_id).unwrap(),
            subject: Subject::User {
                id: UserId::parse("u1").unwrap(),
                username: Username::parse("alice").unwrap(),
            },
            scope: ScopeSet::parse("read write").unwrap(),
            created_at: NOW - 100,
            expires_at: Some(NOW + 5000),
            revoked_at: None,
        },
    }
}

/// A well-formed refresh token string.
pub fn presented_refresh() -> String {
    TokenKind::Refresh.encode(&[9; 32]).expose().to_owned()
}

/// A live access token `presented` of grant `g1`, issued to `client_id`.
pub fn access_state(client_id: &str, presented: &PlainToken) -> AccessTokenState {
    let s = refresh_state(client_id);
    AccessTokenState {
        token: AccessToken {
            hash: presented.hash(),
            grant_id: s.grant.id.clone(),
            scope: s.grant.scope.clone(),
            issued_at: NOW - 1,
            expires_at: NOW + 100,
            revoked_at: None,
        },
        grant: s.grant,
    }
}

/// A password grant request.
pub fn password_request(
    client: Option<ClientCredentials>,
    username: &str,
    password: &str,
    scope: Option<&str>,
) -> TokenRequest {
    TokenRequest {
        client,
        grant: GrantRequest::Password {
            username: username.into(),
            password: password.into(),
            scope: scope.map(str::to_owned),
        },
    }
}

/// A refresh grant request.
pub fn refresh_request(
    client: Option<ClientCredentials>,
    token: &str,
    scope: Option<&str>,
) -> TokenRequest {
    TokenRequest {
        client,
        grant: GrantRequest::RefreshToken {
            refresh_token: token.into(),
            scope: scope.map(str::to_owned),
        },
    }
}
