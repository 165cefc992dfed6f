//! Records that cross the boundary: what the stores keep and return. Plain data; the
//! rules about them live in the domain.

use crate::{
    ClientId, GrantId, ResourceSet, ScopeSet, SecretHash, SessionStamp, TokenHash, UnixMillis,
    UnixTime, UserId, Username,
};

/// The grant types of RFC 6749 a client may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The `grant_type` parameter value (RFC 6749 §4).
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

/// Per-client overrides of the global token lifetimes (seconds); `None` = the global value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifetimeOverrides {
    pub access_token: Option<i64>,
    pub refresh_token: Option<i64>,
    pub refresh_token_max: Option<i64>,
}

/// A registered client (RFC 6749 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// `None` for a public client (§2.1): it has no secret and authenticates by id alone.
    pub secret: Option<SecretHash>,
    /// The row's version: bumped on every change to the row (a secret rotation, and any
    /// other update: a trigger bumps it, so no update can forget to), so that a copy of the
    /// row kept in memory, or a verified secret cached for it, is known to be current
    /// exactly while the stored row still has this version.
    pub secret_version: i64,
    pub grant_types: Vec<GrantType>,
    /// The scopes this client may ask for.
    pub scopes: ScopeSet,
    /// What a request that omits `scope` gets (RFC 6749 §3.3's "pre-defined default
    /// value"), a subset of `scopes`; `None` = those of `scopes` that the scope registry
    /// marks default.
    pub default_scopes: Option<ScopeSet>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user afterwards (OpenID Connect RP-Initiated
    /// Logout §3): exact matches only, like `redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// May call the introspection endpoint (RFC 7662 §2.1), e.g. a resource server.
    pub can_introspect: bool,
    pub lifetimes: LifetimeOverrides,
    /// The format of this client's access tokens; `None` = the global setting.
    pub access_token_format: Option<AccessTokenFormat>,
    pub created_at: UnixTime,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request of this client must
    /// carry a DPoP proof.
    pub require_dpop: bool,
    /// `client create --admin`: the client may be granted the admin API's scope
    /// (`grantd:admin`) through `client_credentials`.
    pub admin: bool,
}

/// Opaque access tokens, or RFC 9068 JWTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessTokenFormat {
    #[default]
    Opaque,
    Jwt,
}

impl AccessTokenFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    pub fn allows(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

/// A resource owner who can log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub password: SecretHash,
    pub disabled: bool,
    /// Every login session of this user carries it; a new one ends them all.
    pub session_stamp: SessionStamp,
    /// The standard claims (OpenID Connect Core §5.1) that `profile` and `email` release.
    pub profile: UserProfile,
    pub created_at: UnixTime,
}

/// What a user tells about themselves: released by userinfo and id tokens only as far as
/// the granted scopes allow (`profile`: name; `email`: email and email_verified).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserProfile {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Whether the operator vouches that the address belongs to the user.
    pub email_verified: bool,
}

/// On whose behalf a grant's tokens act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A resource owner (password or authorization code grant).
    User { id: UserId, username: Username },
    /// The client itself (client credentials grant, RFC 6749 §4.4).
    Client,
}

/// One authorization: the family that owns every access and refresh token derived from it.
/// Revoking the grant revokes the whole family in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: GrantId,
    pub client_id: ClientId,
    pub subject: Subject,
    /// The scope the resource owner granted; every refresh token of the family carries it.
    pub scope: ScopeSet,
    /// The resources (RFC 8707) the grant's access tokens may be for; a refresh may narrow
    /// an access token to some of them, never widen it. Empty = none named.
    pub resources: ResourceSet,
    pub created_at: UnixTime,
    /// The absolute cap on refreshing (`refresh_token_max_lifetime`); `None` = no cap.
    pub expires_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
    /// When the user authenticated for this grant (OpenID Connect `auth_time`): the login
    /// behind the code, or the password grant's check; `None` for client credentials and
    /// for grants made before this was recorded.
    pub auth_time: Option<UnixTime>,
    /// The RFC 7638 thumbprint of the DPoP key that this grant's refresh tokens are bound
    /// to (RFC 9449 §5: a public client's); `None` = not bound.
    pub dpop_jkt: Option<String>,
}

/// A live grant of a user as the account page shows it: the grant, its client's name, and
/// when its tokens were last refreshed (the newest token the grant holds, when newer than
/// the grant: read from what issuance and rotation write anyway, never a write of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOverview {
    pub grant: GrantRecord,
    pub client_name: String,
    pub last_refreshed_at: Option<UnixTime>,
}

/// A stored refresh token. Its scope is always its grant's scope (RFC 6749 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub hash: TokenHash,
    pub grant_id: GrantId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set when the token was rotated; kept until the grant ends so that reuse is detected.
    pub consumed_at: Option<UnixTime>,
    /// The instant of that rotation in milliseconds ([`RefreshWrite::consumed_at_ms`]), so
    /// that a request arriving after it is told from a concurrent one; `None` while live,
    /// and for a token consumed before this was recorded.
    pub consumed_at_ms: Option<UnixMillis>,
    /// The successor that rotation issued; `None` while live (or rotated before this was
    /// recorded).
    pub successor: Option<TokenHash>,
    /// The response of the rotation that consumed this token, sealed with a key derived
    /// from the token itself, for an idempotent retry within the grace period.
    pub sealed_response: Option<Vec<u8>>,
}

/// A refresh token together with its grant, as read when it is presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenState {
    pub token: RefreshToken,
    pub grant: GrantRecord,
    /// Whether the token's [`RefreshToken::successor`] has been used since: consumed by a
    /// rotation of its own. `false` when there is no successor.
    pub successor_used: bool,
}

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    pub hash: TokenHash,
    pub grant_id: GrantId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A stored access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub hash: TokenHash,
    pub grant_id: GrantId,
    /// May be narrower than the grant's scope (RFC 6749 §6).
    pub scope: ScopeSet,
    /// The `aud` the token was issued for (RFC 7662 §2.2, RFC 9068 §2.2): its resources, or
    /// a JWT's default audience; empty = none. No value holds a line break.
    pub audience: Vec<String>,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6);
    /// `None` = a bearer token.
    pub dpop_jkt: Option<String>,
}

/// An access token together with its grant, as read when it is presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenState {
    pub token: AccessToken,
    pub grant: GrantRecord,
}

/// Everything a first issuance writes, in one transaction: the grant, its first access
/// token and (for grants that carry one) its first refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    pub grant: GrantRecord,
    pub access: AccessToken,
    pub refresh: Option<NewRefreshToken>,
}

/// What the domain decided, inside the store's rotation transaction, to write for a
/// presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshWrite {
    /// Mark the presented token consumed (rotation), at `consumed_at_ms` and with
    /// `successor` recorded as its successor. With `sealed_response`, keep that sealed
    /// response on the consumed row for an idempotent retry.
    pub consume: bool,
    /// With `consume`: the rotation's instant in milliseconds, stored on the consumed row.
    pub consumed_at_ms: UnixMillis,
    pub sealed_response: Option<Vec<u8>>,
    pub access: AccessToken,
    pub successor: Option<NewRefreshToken>,
}

/// The outcome of [`crate::TokenStore::rotate_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// No refresh token has this hash; the decision was not consulted.
    NotFound,
    /// The decision declined; nothing was written.
    Declined,
    /// The decision's writes are committed.
    Written,
}
