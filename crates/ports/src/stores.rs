//! The store ports. Synchronous (diesel, r2d2 and bcrypt all block): the HTTP edge runs
//! every call off the async workers. Each method's doc states what it MUST return; "not
//! found" is an `Ok`, and `Err` is kept for real storage failures.

use crate::{
    AccessTokenState, Client, ClientId, GrantId, Issuance, RefreshTokenState, RefreshWrite,
    RotateOutcome, SecretHash, StoreError, TokenHash, UnixTime, User, UserId, Username,
};

/// Registered clients.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ClientStore: Send + Sync + 'static {
    /// The client with this id, or `Ok(None)`.
    fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// Stores a new client. MUST return `Conflict` if the id is taken.
    fn insert_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Every client, ordered by id.
    fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Deletes the client and everything it holds (grants and their tokens).
    /// `Ok(false)` if there was no such client.
    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
    /// Replaces the client's secret and increments its `secret_version`.
    /// `Ok(false)` if there was no such client.
    fn set_client_secret(&self, id: &ClientId, secret: &SecretHash) -> Result<bool, StoreError>;
}

/// Resource owners.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait UserStore: Send + Sync + 'static {
    /// The user with this username, or `Ok(None)`.
    fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Stores a new user. MUST return `Conflict` if the username is taken.
    fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// Replaces the user's password hash. `Ok(false)` if there was no such user.
    fn set_user_password(&self, id: &UserId, password: &SecretHash) -> Result<bool, StoreError>;
    /// Marks the user disabled or enabled. `Ok(false)` if there was no such user.
    fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<bool, StoreError>;
    /// Deletes the user and every grant (and token) issued on their behalf.
    /// `Ok(false)` if there was no such user.
    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError>;
}

/// What a decision will do with a *live* (unconsumed) token, declared before the store
/// reads it, so that the store can find and consume the token in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshIntent {
    /// Not declared: the store locks and reads the token first, then applies whatever
    /// `decide` returns (two statements before the writes).
    Unknown,
    /// Rotation: a live token is consumed at `at`. The store consumes it conditionally
    /// (`consumed_at IS NULL`) in the statement that finds it, calls `decide` with the token
    /// as it was before that update, and rolls the update back if `decide` declines. The
    /// write `decide` returns for a live token MUST consume it.
    Consume { at: UnixTime },
    /// No rotation: the token is never consumed. The write `decide` returns MUST NOT
    /// consume it.
    Keep,
}

/// The domain's decision, called by [`TokenStore::rotate_refresh`] inside its transaction
/// with the presented token as stored (before any write of this call). `None` = write
/// nothing. Any `FnMut(&RefreshTokenState) -> Option<RefreshWrite>` is one, with
/// [`RefreshIntent::Unknown`]; [`Declared`] pairs a closure with its intent.
pub trait RefreshDecision {
    /// What this decision does with a live token; see [`RefreshIntent`].
    fn intent(&self) -> RefreshIntent {
        RefreshIntent::Unknown
    }
    fn decide(&mut self, state: &RefreshTokenState) -> Option<RefreshWrite>;
}

/// A decision closure with its declared [`RefreshIntent`].
pub struct Declared<F> {
    pub intent: RefreshIntent,
    pub decide: F,
}

impl<F: FnMut(&RefreshTokenState) -> Option<RefreshWrite>> RefreshDecision for Declared<F> {
    fn intent(&self) -> RefreshIntent {
        self.intent
    }
    fn decide(&mut self, state: &RefreshTokenState) -> Option<RefreshWrite> {
        (self.decide)(state)
    }
}

impl<F: FnMut(&RefreshTokenState) -> Option<RefreshWrite>> RefreshDecision for F {
    fn decide(&mut self, state: &RefreshTokenState) -> Option<RefreshWrite> {
        self(state)
    }
}

/// Grants and their access and refresh tokens, kept only as hashes.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenStore: Send + Sync + 'static {
    /// Writes a new grant with its first tokens in one transaction: all or nothing.
    fn issue(&self, issuance: &Issuance) -> Result<(), StoreError>;

    /// The refresh step, atomically. In one transaction that serialises concurrent callers
    /// on this token (a row lock on Postgres, an immediate transaction on SQLite): find the
    /// token and its grant, call `decide` with them, and, if it returns writes, apply them
    /// (consume the token if asked, insert the access token and the successor) and commit.
    /// With [`RefreshIntent::Consume`] the finding and the consuming are one conditional
    /// update (a read follows only when it matches nothing, to show `decide` the consumed or
    /// missing token); with [`RefreshIntent::Keep`] nothing locks the token.
    ///
    /// MUST return `NotFound` (without calling `decide`) if no token has this hash,
    /// `Declined` (having written nothing) if `decide` returned `None`, and `Written` only
    /// after the commit succeeded. Of N concurrent calls that all ask to consume the same
    /// token, `decide` sees it unconsumed in exactly one. A write that contradicts the
    /// declared intent is an error (`Other`) and writes nothing.
    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError>;

    /// The refresh token with this hash and its grant, or `Ok(None)`.
    fn find_refresh_token(&self, hash: &TokenHash)
        -> Result<Option<RefreshTokenState>, StoreError>;

    /// The access token with this hash and its grant, or `Ok(None)`.
    fn find_access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenState>, StoreError>;

    /// Revokes a grant and so, in one statement, every token of its family.
    /// `Ok(false)` if it did not exist or was already revoked.
    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> Result<bool, StoreError>;

    /// Revokes one access token. `Ok(false)` if it did not exist or was already revoked.
    fn revoke_access_token(&self, hash: &TokenHash, now: UnixTime) -> Result<bool, StoreError>;

    /// Revokes every live grant of this user; returns how many.
    fn revoke_grants_of_user(&self, id: &UserId, now: UnixTime) -> Result<u64, StoreError>;

    /// Revokes every live grant of this client; returns how many.
    fn revoke_grants_of_client(&self, id: &ClientId, now: UnixTime) -> Result<u64, StoreError>;
}
