//! Dynamic client registration's records and store (RFC 7591, RFC 7592): the initial
//! access tokens an operator hands out (RFC 7591 §3: "an OAuth 2.0 access token ... to
//! restrict registration"), and each registered client's registration access token
//! (RFC 7592 §1), both kept only as SHA-256.

use crate::{Client, ClientId, StoreError, TokenHash, UnixTime};

/// An initial access token: who may register a client, how often and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialAccessToken {
    /// A short public name for listing and revoking (never the token).
    pub id: String,
    /// SHA-256 of the token; the token itself is shown once, when it is made.
    pub token_hash: TokenHash,
    pub created_at: UnixTime,
    /// Refused from this time on.
    pub expires_at: UnixTime,
    /// How many more registrations it allows; 0 = spent.
    pub uses_left: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
}

/// RFC 7591 §2 `token_endpoint_auth_method`: how a registered client authenticates at
/// the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointAuthMethod {
    /// A public client (RFC 6749 §2.1): no secret.
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [Self; 3] = [Self::None, Self::ClientSecretBasic, Self::ClientSecretPost];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// What registration adds to a dynamically registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: ClientId,
    /// SHA-256 of the registration access token (RFC 7592 §1).
    pub access_token_hash: TokenHash,
    /// As registered (RFC 7591 §2).
    pub auth_method: TokenEndpointAuthMethod,
    /// The initial access token it was registered with (for the audit trail).
    pub initial_token_id: String,
}

/// The store of initial access tokens and registrations.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait RegistrationStore: Send + Sync + 'static {
    /// Stores a new initial access token. MUST return `Conflict` if the id or hash is
    /// taken.
    fn insert_initial_token(&self, token: &InitialAccessToken) -> Result<(), StoreError>;
    /// Every initial access token, spent, expired and revoked ones too, ordered by id.
    fn list_initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError>;
    /// Marks the token revoked at `now`. `Ok(false)` if there is no such token or it was
    /// revoked already.
    fn revoke_initial_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError>;
    /// The token with this hash if it is usable at `now` (not revoked, `now <
    /// expires_at`, a use left), else `Ok(None)`. MUST NOT write anything: an unknown
    /// token costs one indexed read.
    fn find_usable_initial_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<InitialAccessToken>, StoreError>;
    /// In ONE transaction: takes one use of the initial token `initial` (only if it is
    /// still usable at `now`), inserts `client` and `registration`. `Ok(false)`, having
    /// written nothing, if the token is no longer usable (spent by a concurrent
    /// registration, revoked, expired). MUST return `Conflict` if the client id is taken.
    fn register_client(
        &self,
        initial: &TokenHash,
        now: UnixTime,
        client: &Client,
        registration: &ClientRegistration,
    ) -> Result<bool, StoreError>;
    /// The registration whose access token hashes to `access_token`, or `Ok(None)`.
    fn find_registration(
        &self,
        access_token: &TokenHash,
    ) -> Result<Option<ClientRegistration>, StoreError>;
    /// Replaces every field of the client `client.id` but its id and `created_at` (the
    /// secret and `secret_version` as given) and the registration's auth method, in one
    /// transaction, only if `access_token` is that client's registration access token.
    /// `Ok(false)`, having changed nothing, otherwise.
    fn update_registered_client(
        &self,
        access_token: &TokenHash,
        client: &Client,
        auth_method: TokenEndpointAuthMethod,
    ) -> Result<bool, StoreError>;
}
