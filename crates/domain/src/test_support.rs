//! Builders for the use-case tests: mockall doubles of every port, a fixed clock and a
//! counting minter, so that each test states only the interactions it is about.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use grantd_ports::{
    AccessToken, AccessTokenState, Client, ClientId, DomainEvent, FailureKey, FailureWindow,
    GrantId, GrantRecord, GrantType, LifetimeOverrides, Metrics, MockClientStore, MockClock,
    MockFailureCounter, MockSecretHasher, MockTokenMinter, MockTokenStore, MockUserStore,
    PasswordCheckPermits, PlainToken, RefreshToken, RefreshTokenState, ScopeSet, SecretHash,
    SessionStamp, Subject, TokenHash, TokenKind, UnboundedChecks, UnixMillis, UnixTime, User,
    UserId, Username,
};

use crate::{
    AuthorizeEndpoint, ClientCredentials, CredentialSource, GrantRequest, PortSet, ScopeDefinition,
    ScopeRegistry, TokenEndpoint, TokenRequest, TokenSettings, UseCases,
};

pub const NOW: UnixTime = 1_000_000;
/// What the doubles' clock reads in milliseconds: half-way through the second NOW.
pub const NOW_MS: UnixMillis = NOW * 1000 + 500;
pub const SECRET: &str = "s3cret";
pub const PASSWORD: &str = "hunter2";
/// The address requests come from unless a test says otherwise (TEST-NET-1, RFC 5737).
pub const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Another address.
pub const OTHER_SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// The session stamp of `alice` in [`Doubles::with_user`].
pub const STAMP: &str = "stamp1";

/// The doubles before they are frozen into a `PortSet`; tests add expectations, then call
/// `ports` or `use_cases`.
pub struct Doubles {
    pub clients: MockClientStore,
    pub users: MockUserStore,
    pub tokens: MockTokenStore,
    pub authorizations: grantd_ports::MockAuthorizationStore,
    pub hasher: MockSecretHasher,
    /// The failure counters: programmed by `new` to count in `counts`; a test may
    /// `checkpoint` it and state the calls it expects instead.
    pub failures: MockFailureCounter,
    pub counts: Counts,
    /// The password-check permits: unbounded unless a test says otherwise.
    pub password_checks: Arc<dyn PasswordCheckPermits>,
    /// Every domain event recorded through the metrics port; clone it before freezing.
    pub events: Events,
}

/// What the failure-counter double has counted: the store's contract (a live window per
/// key, `[now, now + window)`) over a map, so that the budgets can be exercised for real.
#[derive(Clone, Default)]
pub struct Counts(Arc<Mutex<HashMap<FailureKey, FailureWindow>>>);

impl Counts {
    /// Programs `mock` to read and count here.
    pub fn program(&self, mock: &mut MockFailureCounter) {
        let read = self.clone();
        mock.expect_windows().returning(move |keys, now| {
            let map = read.0.lock().unwrap();
            Ok(keys
                .iter()
                .map(|k| map.get(k).copied().filter(|w| w.expires_at > now))
                .collect())
        });
        let write = self.clone();
        mock.expect_record_failure()
            .returning(move |keys, now, window_secs| {
                let mut map = write.0.lock().unwrap();
                let mut keys = keys.to_vec();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let w = map.entry(key).or_insert(FailureWindow {
                        failures: 0,
                        expires_at: now + window_secs,
                    });
                    if w.expires_at <= now {
                        *w = FailureWindow {
                            failures: 0,
                            expires_at: now + window_secs,
                        };
                    }
                    w.failures += 1;
                }
                Ok(())
            });
    }

    /// Failures counted, over every key.
    pub fn total(&self) -> u32 {
        self.0.lock().unwrap().values().map(|w| w.failures).sum()
    }

    /// The keys counted so far.
    pub fn keys(&self) -> Vec<FailureKey> {
        let mut keys: Vec<_> = self.0.lock().unwrap().keys().copied().collect();
        keys.sort();
        keys
    }
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
        let counts = Counts::default();
        let mut failures = MockFailureCounter::new();
        counts.program(&mut failures);
        Self {
            clients,
            users: MockUserStore::new(),
            tokens: MockTokenStore::new(),
            authorizations: grantd_ports::MockAuthorizationStore::new(),
            hasher,
            failures,
            counts,
            password_checks: Arc::new(UnboundedChecks),
            events: Events::default(),
        }
    }

    /// The use cases over these doubles, with default limits and [`registry`].
    pub fn use_cases(self, settings: TokenSettings) -> UseCases {
        UseCases::new(self.ports(), settings).with_scopes(registry())
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
        clock.expect_now_millis().return_const(NOW_MS);
        PortSet {
            clients: Arc::new(self.clients),
            users: Arc::new(self.users),
            tokens: Arc::new(self.tokens),
            authorizations: Arc::new(self.authorizations),
            failures: Arc::new(self.failures),
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
                    session_stamp: SessionStamp::parse(STAMP).unwrap(),
                    profile: Default::default(),
                    created_at: 0,
                }))
            });
        self
    }
}

/// The shipped registry's first three: read and write (granted by default), profile (not).
pub fn registry() -> ScopeRegistry {
    let def = |name: &str, description: &str, default| ScopeDefinition {
        name: name.into(),
        description: description.into(),
        default,
    };
    ScopeRegistry::new([
        def("read", "Read your data", true),
        def("write", "Change your data", true),
        def("profile", "See your profile", false),
    ])
    .unwrap()
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
        default_scopes: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        created_at: 0,
        require_dpop: false,
        admin: false,
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
            consumed_at_ms: None,
            successor: None,
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
            resources: grantd_ports::ResourceSet::empty(),
            created_at: NOW - 100,
            expires_at: Some(NOW + 5000),
            revoked_at: None,
            auth_time: None,
            dpop_jkt: None,
        },
        successor_used: false,
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
            audience: vec![],
            issued_at: NOW - 1,
            expires_at: NOW + 100,
            revoked_at: None,
            dpop_jkt: None,
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
        source_address: SOURCE,
        resources: vec![],
        arrived_at_ms: NOW_MS,
        dpop_proof: None,
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
        source_address: SOURCE,
        resources: vec![],
        arrived_at_ms: NOW_MS,
        dpop_proof: None,
    }
}

/// `request`, sent from `source` instead.
pub fn from(source: IpAddr, request: TokenRequest) -> TokenRequest {
    TokenRequest {
        source_address: source,
        ..request
    }
}

/// Budgets of `n` failures per (account, source) for passwords and client secrets alike,
/// the others at their defaults.
pub fn limits(n: u32) -> crate::AttemptLimits {
    crate::AttemptLimits {
        per_username_and_source: n,
        per_client_and_source: n,
        ..crate::AttemptLimits::default()
    }
}

/// The RFC 7638 thumbprint of the test key whose `x` is `x` (see [`dpop_proofs`]).
pub fn test_jkt(x: &str) -> String {
    crate::dpop::thumbprint(&test_jwk(x))
        .unwrap()
        .as_str()
        .to_owned()
}

fn test_jwk(x: &str) -> std::collections::BTreeMap<String, String> {
    [("kty", "EC"), ("crv", "P-256"), ("x", x), ("y", "eQ")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// DPoP proofs over doubles: every proof verifies as one for the token endpoint at NOW,
/// signed by the test key whose `x` is the proof's text, each jti fresh.
pub fn dpop_proofs() -> crate::dpop::DpopProofs {
    dpop_proofs_for("POST", "https://as.example/oauth/token", None)
}

/// As [`dpop_proofs`], every proof for `htm` `htu` with `ath`.
pub fn dpop_proofs_for(htm: &str, htu: &str, ath: Option<String>) -> crate::dpop::DpopProofs {
    let (htm, htu) = (htm.to_owned(), htu.to_owned());
    use grantd_ports::{MockDpopReplayStore, MockProofVerifier, ProofAlgorithm, ProofClaims};
    let mut verifier = MockProofVerifier::new();
    verifier
        .expect_verify_dpop_proof()
        .returning(move |proof, _| {
            Ok(grantd_ports::VerifiedProof {
                typ: Some(crate::dpop::DPOP_JWT.to_owned()),
                algorithm: ProofAlgorithm::Es256,
                jwk: test_jwk(proof),
                claims: ProofClaims {
                    jti: Some(format!("jti-{}", NEXT_JTI.fetch_add(1, Ordering::Relaxed))),
                    htm: Some(htm.clone()),
                    htu: Some(htu.clone()),
                    iat: Some(NOW),
                    nonce: None,
                    ath: ath.clone(),
                },
            })
        });
    let mut replay = MockDpopReplayStore::new();
    replay.expect_record_jti().returning(|_, _, _| Ok(true));
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    crate::dpop::DpopProofs::new(
        Arc::new(verifier),
        Arc::new(replay),
        Arc::new(clock),
        crate::dpop::DpopSettings::default(),
        "https://as.example",
    )
}

static NEXT_JTI: AtomicU64 = AtomicU64::new(0);
