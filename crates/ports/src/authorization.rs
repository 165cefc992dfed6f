//! The authorization code flow's records and port (RFC 6749 §4.1, RFC 7636): codes kept
//! only as hashes and redeemed atomically, and the consents users have given to clients.
//! Plain data and the trait; the rules (validity, bindings, PKCE) live in the domain.

use crate::{
    ClientId, GrantId, Issuance, ResourceSet, ScopeSet, StoreError, TokenHash, UnixTime, User,
    UserId, Username,
};

/// RFC 7636 §4.2 `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(verifier))`.
    S256,
    /// The verifier itself; off unless the operator allows it (RFC 9700 §2.1.1).
    Plain,
}

impl CodeChallengeMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::S256 => "S256",
            CodeChallengeMethod::Plain => "plain",
        }
    }

    /// Exact, case-sensitive match of the parameter value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "S256" => Some(CodeChallengeMethod::S256),
            "plain" => Some(CodeChallengeMethod::Plain),
            _ => None,
        }
    }
}

/// A PKCE challenge as sent on the authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    pub challenge: String,
    pub method: CodeChallengeMethod,
}

/// An authorization code as stored: its hash and everything it is bound to (RFC 6749
/// §4.1.2, §4.1.3; RFC 7636 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRecord {
    pub hash: TokenHash,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub username: Username,
    /// The `redirect_uri` parameter of the authorization request exactly as it was sent;
    /// `None` if it had none (the client's only registered URI was used), in which case
    /// the token request may omit it too (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    pub scope: ScopeSet,
    /// The `resource` parameters of the authorization request (RFC 8707 §2.1), checked;
    /// the grant the exchange creates gets them.
    pub resources: ResourceSet,
    pub challenge: Option<CodeChallenge>,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set when the code was exchanged; a second exchange is reuse (§4.1.2).
    pub redeemed_at: Option<UnixTime>,
    /// The grant the exchange created, so that a reuse can revoke its tokens.
    pub grant_id: Option<GrantId>,
    /// The authorization request's `nonce` (OpenID Connect Core §3.1.2.1), repeated in
    /// the id token.
    pub nonce: Option<String>,
    /// When the user logged in for this code (Core §2 `auth_time`); `None` only for codes
    /// issued before this was recorded.
    pub auth_time: Option<UnixTime>,
    /// The authorization request's `dpop_jkt` (RFC 9449 §10): the RFC 7638 thumbprint of
    /// the only DPoP key whose proof may exchange this code; `None` = not bound.
    pub dpop_jkt: Option<String>,
}

/// What the domain decided, inside the redeem transaction, to do with a presented code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeWrite {
    /// Mark the code redeemed (recording the grant's id) and write the grant with its
    /// first tokens, in the same transaction.
    Redeem(Box<Issuance>),
    /// Write nothing.
    Decline,
}

/// The outcome of [`AuthorizationStore::redeem_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// No code has this hash; the decision was not consulted.
    NotFound,
    /// The decision declined; nothing was written.
    Declined,
    /// The code is marked redeemed and the issuance is committed.
    Redeemed,
}

/// The domain's decision, called by [`AuthorizationStore::redeem_code`] inside its
/// transaction with the code as stored and the user it was issued for as they are now
/// (`None` if no user has the code's `user_id`). Any
/// `FnMut(&AuthorizationCodeRecord, Option<&User>) -> CodeWrite` is one.
pub trait CodeDecision {
    fn decide(&mut self, code: &AuthorizationCodeRecord, user: Option<&User>) -> CodeWrite;
}

impl<F: FnMut(&AuthorizationCodeRecord, Option<&User>) -> CodeWrite> CodeDecision for F {
    fn decide(&mut self, code: &AuthorizationCodeRecord, user: Option<&User>) -> CodeWrite {
        self(code, user)
    }
}

/// A user's remembered consent to a client: the scopes they allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: UserId,
    pub client_id: ClientId,
    pub scope: ScopeSet,
    pub created_at: UnixTime,
}

/// Authorization codes and consents.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait AuthorizationStore: Send + Sync + 'static {
    /// Stores a new, unredeemed code. MUST return `Conflict` if the hash exists.
    fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<(), StoreError>;

    /// The exchange, atomically. In one transaction that serialises concurrent callers on
    /// this code (a row lock on Postgres, an immediate transaction on SQLite): read the
    /// code and its user, call `decide`, and on `Redeem` mark it redeemed with the
    /// issuance's grant id and write the issuance (grant, access token, refresh token),
    /// then commit.
    ///
    /// MUST return `NotFound` (without calling `decide`) if no code has this hash,
    /// `Declined` (having written nothing) on `Decline`, and `Redeemed` only after the
    /// commit. Of N concurrent calls for one code, `decide` sees it unredeemed in exactly one.
    fn redeem_code(
        &self,
        presented: &TokenHash,
        decide: &mut dyn CodeDecision,
    ) -> Result<RedeemOutcome, StoreError>;

    /// The consent this user gave this client, or `Ok(None)`.
    fn find_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
    ) -> Result<Option<Consent>, StoreError>;

    /// Every consent this user has given, ordered by client id.
    fn consents_of_user(&self, user_id: &UserId) -> Result<Vec<Consent>, StoreError>;

    /// Stores the consent, replacing any earlier one of the same user and client.
    fn save_consent(&self, consent: &Consent) -> Result<(), StoreError>;

    /// Forgets the user's consents (to one client, or to all when `client_id` is `None`);
    /// returns how many were removed.
    // The named lifetime is for mockall, which cannot mock an elided one inside `Option`.
    #[allow(clippy::needless_lifetimes)]
    fn revoke_consents<'a>(
        &self,
        user_id: &UserId,
        client_id: Option<&'a ClientId>,
    ) -> Result<u64, StoreError>;
}
