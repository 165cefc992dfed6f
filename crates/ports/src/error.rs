//! The one error every store port returns. It says what kind of failure happened so the
//! edges can choose between 503 (retry later) and 500 (a bug), and never carries SQL to a client.

/// A failure of the storage behind a port. "Not found" and "already consumed" are not
/// errors: the ports return them as normal outcomes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable, the pool timed out, or it is busy or read-only:
    /// the caller may retry later (HTTP 503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (e.g. a username or client id that already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Anything else: a bug or corrupt data (HTTP 500).
    #[error("storage error: {0}")]
    Other(String),
}
