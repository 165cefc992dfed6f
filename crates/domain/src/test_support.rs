//! Builders for the use-case tests: mockall doubles of every port, a fixed clock and a
//! counting minter, so that each test states only the interactions it is about.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use grantd_ports::{
    Client, ClientId, GrantId, GrantRecord, GrantType, LifetimeOverrides, MockClientStore,
    MockClock, MockSecretHasher, MockTokenMinter, MockTokenStore, MockUserStore, RefreshToken,
    RefreshTokenState, ScopeSet, SecretHash, Subject, TokenHash, TokenKind, UnixTime, User, UserId,
    Username,
};

use crate::{ClientCredentials, CredentialSource, PortSet, TokenService, TokenSettings};

pub const NOW: UnixTime = 1_000_000;
pub const SECRET: &str = "s3cret";
pub const PASSWORD: &str = "hunter2";

/// The doubles before they are frozen into `PortSet`; tests add expectations, then `service`.
pub struct Doubles {
    pub clients: MockClientStore,
    pub users: MockUserStore,
    pub tokens: MockTokenStore,
    pub authorizations: grantd_ports::MockAuthorizationStore,
    pub hasher: MockSecretHasher,
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
        }
    }

    pub fn service(self, settings: TokenSettings) -> TokenService {
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
        TokenService::new(
            PortSet {
                clients: Arc::new(self.clients),
                users: Arc::new(self.users),
                tokens: Arc::new(self.tokens),
                authorizations: Arc::new(self.authorizations),
                hasher: Arc::new(self.hasher),
                minter: Arc::new(minter),
                clock: Arc::new(clock),
                metrics: Arc::new(grantd_ports::NoMetrics),
            },
            settings,
        )
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
