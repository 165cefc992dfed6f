//! The one refusal type of the administrative use cases: what was not found, which field
//! broke which rule, what already exists, or a storage failure. None carries a status code
//! or a flag name: the CLI and the HTTP adapter each word it.

use grantd_ports::StoreError;

use crate::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The named record does not exist (the message says which).
    #[error("{0}")]
    NotFound(String),
    /// A value breaks a rule; `field` is its name in the admin API's JSON (the CLI maps it
    /// to its flag).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A record with this identity already exists.
    #[error("{0}")]
    Conflict(String),
    /// No signing keys are configured (`keys.encryption_key` is unset).
    #[error("signing keys are not configured (keys.encryption_key)")]
    NoSigningKeys,
    #[error(transparent)]
    Keys(KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    pub(crate) fn invalid(field: &'static str, message: impl ToString) -> Self {
        Self::Invalid {
            field,
            message: message.to_string(),
        }
    }
}

impl From<KeyError> for AdminError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::UnknownKey(kid) => Self::NotFound(format!("no live signing key {kid}")),
            KeyError::Store(e) => Self::Store(e),
            other => Self::Keys(other),
        }
    }
}
