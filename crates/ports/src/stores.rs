//! The store ports. Synchronous (diesel, r2d2 and bcrypt all block): the HTTP edge runs
//! every call off the async workers. Each method's doc states what it MUST return; "not
//! found" is an `Ok`, and `Err` is kept for real storage failures.

use crate::{
    AccessTokenState, Client, ClientId, ConsumeIf, GrantId, GrantOverview, Issuance, OneTripIssued,
    OneTripWrite, RefreshTokenState, RefreshWrite, RotateOutcome, SecretHash, SessionStamp,
    StoreError, TokenHash, UnixTime, User, UserId, UserProfile, Username,
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
    /// Replaces the client's settings with `client`'s: every field but its id, secret,
    /// `secret_version` and `created_at`. `Ok(false)` if there was no such client.
    fn update_client(&self, client: &Client) -> Result<bool, StoreError>;
}

/// What ended with a change to a user (a password change, disabling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RevokedAccess {
    /// Live grants revoked (and so every token of their families).
    pub grants: u64,
    /// Unredeemed authorization codes deleted.
    pub codes: u64,
}

/// Resource owners.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait UserStore: Send + Sync + 'static {
    /// The user with this username, or `Ok(None)`.
    fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Stores a new user. MUST return `Conflict` if the username is taken.
    fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// Replaces the user's password hash and session stamp and, in the SAME transaction,
    /// revokes every live grant of the user (`revoked_at = now`) and deletes their
    /// unredeemed authorization codes: all or nothing, so no token, code or session made
    /// under the old password outlives the change. `Ok(None)`, having changed nothing, if
    /// there is no such user.
    fn change_password(
        &self,
        id: &UserId,
        password: &SecretHash,
        stamp: &SessionStamp,
        now: UnixTime,
    ) -> Result<Option<RevokedAccess>, StoreError>;
    /// Marks the user disabled and replaces their session stamp, revoking their grants and
    /// deleting their unredeemed codes in the same transaction, as `change_password` does.
    /// `Ok(None)`, having changed nothing, if there is no such user.
    fn disable_user(
        &self,
        id: &UserId,
        stamp: &SessionStamp,
        now: UnixTime,
    ) -> Result<Option<RevokedAccess>, StoreError>;
    /// Marks the user enabled (their stamp stays: disabling already replaced it).
    /// `Ok(false)` if there was no such user.
    fn enable_user(&self, id: &UserId) -> Result<bool, StoreError>;
    /// Replaces the user's profile claims (name, email, email_verified) and nothing else:
    /// the session stamp, grants and codes stay, since what a user is called changes no
    /// one's right to act. `Ok(false)` if there was no such user.
    fn set_user_profile(&self, id: &UserId, profile: &UserProfile) -> Result<bool, StoreError>;
    /// Replaces the user's session stamp, which ends every login session of theirs.
    /// `Ok(false)` if there was no such user.
    fn set_session_stamp(&self, id: &UserId, stamp: &SessionStamp) -> Result<bool, StoreError>;
    /// Deletes the user and every grant (and token) issued on their behalf.
    /// `Ok(false)` if there was no such user.
    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError>;
}

/// What the refresh step does with a *live* (unconsumed) token, declared before the store
/// reads it, so that the store can find and consume the token in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshIntent {
    /// Rotation: a live token is consumed at `at`; the write the decision returns for it
    /// MUST consume it (`consume`) and issue its access token at `at`.
    Consume { at: UnixTime },
    /// No rotation: the token is never consumed; the write the decision returns MUST NOT
    /// consume it.
    Keep,
}

/// The domain's decision, called by [`TokenStore::rotate_refresh`] inside its transaction
/// with the presented token and its grant: the writes to make, or `None` to write nothing.
/// Any `FnMut(&RefreshTokenState) -> Option<RefreshWrite>` is one. (A trait rather than
/// `dyn FnMut` because mockall cannot mock a method taking a `dyn Fn*` argument.)
pub trait RefreshDecision {
    fn decide(&mut self, state: &RefreshTokenState) -> Option<RefreshWrite>;
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

    /// The refresh step, atomically: in one transaction, find the token and its grant, call
    /// `decide` (the domain's decision) with them, and, if it returns writes, apply them
    /// (consume the token if asked, insert the access token and the successor) and commit.
    ///
    /// In both modes it MUST return `NotFound` (without calling `decide`) if no token has
    /// this hash, `Declined` (having written nothing) if `decide` returned `None`, and
    /// `Written` only after the commit succeeded. A write that contradicts `intent` is an
    /// error (`Other`) and writes nothing.
    ///
    /// - [`RefreshIntent::Consume`]: the store MUST consume a live token conditionally
    ///   (`consumed_at IS NULL`) in the statement that finds it, serialising concurrent
    ///   callers on this token (a row lock on Postgres, an immediate transaction on
    ///   SQLite), and show `decide` the token as it was before that update; if `decide`
    ///   declines, the consumption MUST be rolled back. Of N concurrent calls on one token,
    ///   `decide` sees it unconsumed in exactly one; the others see it consumed (a read
    ///   follows the update only when it matched nothing); a write for a consumed token is an
    ///   error (`Other`).
    /// - [`RefreshIntent::Keep`]: the store MUST NOT consume the token, nor lock it:
    ///   concurrent calls all see it as stored and may all write.
    ///
    /// A consuming write MUST store, on the consumed row and in the same transaction, its
    /// `consumed_at_ms` and its successor's hash (RFC 9700 §4.14.2: "information about the
    /// relationship is retained"). A consumed token MUST be shown to `decide` with both, and
    /// with `successor_used` telling whether that successor has been consumed since.
    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        intent: RefreshIntent,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError>;

    /// The common path of a rotation in ONE statement (one round trip, no transaction
    /// around it): if the presented token and its grant meet every condition of `rules`,
    /// consume the token (`consumed_at = rules.now`, `consumed_at_ms`, `successor_hash`)
    /// and insert the access token and the successor of `write`, atomically, and return
    /// what was written. Of N concurrent calls on one token at most one writes (the
    /// conditional update locks the row and re-checks `consumed_at IS NULL`).
    ///
    /// MUST return `Ok(None)`, having written nothing, when any condition fails (no such
    /// token among them): the caller then runs [`TokenStore::rotate_refresh`], whose
    /// decision tells why. A taken hash is `Conflict`, and writes nothing either.
    fn rotate_refresh_if(
        &self,
        rules: &ConsumeIf,
        write: &OneTripWrite,
    ) -> Result<Option<OneTripIssued>, StoreError>;

    /// The refresh token with this hash and its grant (with `successor_used`, as in
    /// `rotate_refresh`), or `Ok(None)`.
    fn find_refresh_token(&self, hash: &TokenHash)
        -> Result<Option<RefreshTokenState>, StoreError>;

    /// The access token with this hash and its grant, or `Ok(None)`.
    fn find_access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenState>, StoreError>;

    /// Revokes a grant and so, in one statement, every token of its family.
    /// `Ok(false)` if it did not exist or was already revoked.
    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> Result<bool, StoreError>;

    /// Revokes one access token. `Ok(false)` if it did not exist or was already revoked.
    fn revoke_access_token(&self, hash: &TokenHash, now: UnixTime) -> Result<bool, StoreError>;

    /// The user's live grants (not revoked, not past their cap, holding a live refresh or
    /// access token), newest first, with their clients' names.
    fn live_grants_of_user(
        &self,
        id: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantOverview>, StoreError>;

    /// As [`TokenStore::live_grants_of_user`], for the grants this client holds (any
    /// subject), newest first.
    fn live_grants_of_client(
        &self,
        id: &ClientId,
        now: UnixTime,
    ) -> Result<Vec<GrantOverview>, StoreError>;

    /// Revokes every live grant of this user; returns how many.
    fn revoke_grants_of_user(&self, id: &UserId, now: UnixTime) -> Result<u64, StoreError>;

    /// Revokes every live grant of this client; returns how many.
    fn revoke_grants_of_client(&self, id: &ClientId, now: UnixTime) -> Result<u64, StoreError>;
}
