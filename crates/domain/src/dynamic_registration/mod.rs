//! Dynamic client registration (RFC 7591) and the client configuration endpoint
//! (RFC 7592): the metadata rules (`metadata`), the endpoint's use case (`endpoint`) and
//! the initial access tokens that restrict who may register (`initial_tokens`), which the
//! CLI and the admin API share.

mod endpoint;
mod initial_tokens;
mod metadata;

pub use endpoint::{RegisterError, RegisteredClient, RegistrationEndpoint, UpdateRequest};
pub use initial_tokens::{
    InitialAccessTokens, InitialTokenError, IssuedInitialToken, MAX_EXPIRES_IN, MAX_USES,
};
pub use metadata::{
    check_metadata, response_types, CheckedMetadata, ClientMetadata, MetadataError,
    RegistrationPolicy,
};
