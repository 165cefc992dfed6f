//! `RegistrationEndpoint`: `POST /oauth/register` (RFC 7591 §3) and the client
//! configuration endpoint (RFC 7592 §2: read, update, delete). Who may act is decided by
//! tokens alone, checked before anything else: an initial access token to register, the
//! client's own registration access token afterwards. A request without a usable token
//! costs one indexed read and writes nothing.

use std::sync::Arc;

use grantd_ports::{
    Client, ClientId, ClientRegistration, LifetimeOverrides, PlainToken, RegistrationStore,
    StoreError, TokenEndpointAuthMethod, TokenKind,
};

use super::metadata::{check_metadata, ClientMetadata, MetadataError, RegistrationPolicy};
use crate::{accounts, PortSet, ScopeRegistry};

/// Why a registration request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The initial or registration access token is missing, unknown, spent, expired,
    /// revoked, or belongs to another client (RFC 7592 §3: 401 in every case).
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A client as the registration endpoints answer (RFC 7591 §3.2.1, RFC 7592 §3).
#[derive(Debug)]
pub struct RegisteredClient {
    pub client: Client,
    pub auth_method: TokenEndpointAuthMethod,
    /// Only when it was just minted: at registration (the only time it exists in plain).
    pub client_secret: Option<PlainToken>,
    /// RFC 7592 §3 makes it REQUIRED in every response: minted at registration, the
    /// presented one afterwards.
    pub registration_access_token: PlainToken,
}

/// RFC 7592 §2.2's update request: the metadata, and the fields that must agree with
/// the client's.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// REQUIRED, "the same as its currently issued client identifier".
    pub client_id: Option<String>,
    /// If present, it "MUST match the currently issued client secret".
    pub client_secret: Option<String>,
    pub metadata: ClientMetadata,
}

/// The use case behind `POST /oauth/register` and `/oauth/register/{client_id}`.
#[derive(Clone)]
pub struct RegistrationEndpoint {
    ports: PortSet,
    store: Arc<dyn RegistrationStore>,
    policy: RegistrationPolicy,
    scopes: Arc<ScopeRegistry>,
}

impl RegistrationEndpoint {
    pub fn new(
        ports: PortSet,
        store: Arc<dyn RegistrationStore>,
        policy: RegistrationPolicy,
        scopes: ScopeRegistry,
    ) -> Self {
        Self {
            ports,
            store,
            policy,
            scopes: Arc::new(scopes),
        }
    }

    /// RFC 7591 §3: registers a client with `metadata`, authorised by `initial_token`.
    /// The token is checked first (a read), then the metadata (pure), then one
    /// transaction takes a use of the token and stores the client and its registration.
    pub fn register(
        &self,
        initial_token: &str,
        metadata: &ClientMetadata,
    ) -> Result<RegisteredClient, RegisterError> {
        self.register_parsed(initial_token, || Ok(metadata.clone()))
    }

    /// As [`RegistrationEndpoint::register`], with the metadata parsed by `parse` only
    /// once the token is known good: a request with a bad token is a 401 whatever its
    /// body.
    pub fn register_parsed(
        &self,
        initial_token: &str,
        parse: impl FnOnce() -> Result<ClientMetadata, MetadataError>,
    ) -> Result<RegisteredClient, RegisterError> {
        if !TokenKind::InitialAccess.is_well_formed(initial_token) {
            return Err(RegisterError::InvalidToken);
        }
        let initial = PlainToken::from_presented(initial_token).hash();
        let now = self.ports.clock.now();
        let Some(grant) = self.store.find_usable_initial_token(&initial, now)? else {
            return Err(RegisterError::InvalidToken);
        };
        let checked = check_metadata(&parse()?, &self.policy, &self.scopes)?;
        let id = ClientId::parse(&format!("cl_{}", self.ports.minter.mint_id()))
            .map_err(|e| StoreError::Other(format!("minted an invalid client id: {e}")))?;
        let secret =
            (!checked.is_public()).then(|| self.ports.minter.mint(TokenKind::ClientSecret));
        let access_token = self.ports.minter.mint(TokenKind::RegistrationAccess);
        let client = Client {
            name: checked
                .client_name
                .clone()
                .unwrap_or_else(|| id.to_string()),
            secret: secret
                .as_ref()
                .map(|s| self.ports.hasher.hash_client_secret(s.expose())),
            secret_version: 1,
            grant_types: checked.grant_types,
            scopes: checked.scopes,
            // The registry's defaults within its scopes (RFC 6749 §3.3).
            default_scopes: None,
            redirect_uris: checked.redirect_uris,
            post_logout_redirect_uris: checked.post_logout_redirect_uris,
            // Introspection and per-client lifetimes are the operator's to give.
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            access_token_format: None,
            created_at: now,
            require_dpop: checked.require_dpop,
            // The admin API is the operator's to open, never a registrant's.
            admin: false,
            id: id.clone(),
        };
        let registration = ClientRegistration {
            client_id: id.clone(),
            access_token_hash: access_token.hash(),
            auth_method: checked.auth_method,
            initial_token_id: grant.id.clone(),
        };
        if !self
            .store
            .register_client(&initial, now, &client, &registration)?
        {
            // Spent or revoked between the read and the transaction.
            return Err(RegisterError::InvalidToken);
        }
        tracing::info!(client_id = %id, initial_token = %grant.id, "client registered dynamically");
        Ok(RegisteredClient {
            client,
            auth_method: checked.auth_method,
            client_secret: secret,
            registration_access_token: access_token,
        })
    }

    /// RFC 7592 §2.1: the client's current registration (never its secret).
    pub fn read(&self, client_id: &str, token: &str) -> Result<RegisteredClient, RegisterError> {
        let (registration, client) = self.authorise(client_id, token)?;
        Ok(RegisteredClient {
            client,
            auth_method: registration.auth_method,
            client_secret: None,
            registration_access_token: PlainToken::from_presented(token),
        })
    }

    /// RFC 7592 §2.2: replaces the client's metadata with `request`'s ("all metadata
    /// fields ... replace, not augment"; an omitted field gets its RFC 7591 default). The
    /// client keeps its id, secret and grants; it cannot change between public and
    /// confidential, which would let its refresh tokens be used without its secret.
    pub fn update(
        &self,
        client_id: &str,
        token: &str,
        request: &UpdateRequest,
    ) -> Result<RegisteredClient, RegisterError> {
        self.update_parsed(client_id, token, || Ok(request.clone()))
    }

    /// As [`RegistrationEndpoint::update`], with the request parsed only once the token
    /// is known to be this client's.
    pub fn update_parsed(
        &self,
        client_id: &str,
        token: &str,
        parse: impl FnOnce() -> Result<UpdateRequest, MetadataError>,
    ) -> Result<RegisteredClient, RegisterError> {
        let (_, current) = self.authorise(client_id, token)?;
        let request = &parse()?;
        let bad = |field: &str, why: &str| {
            RegisterError::Metadata(MetadataError::InvalidClientMetadata(format!(
                "{field}: {why}"
            )))
        };
        if request.client_id.as_deref() != Some(current.id.as_str()) {
            return Err(bad(
                "client_id",
                "must be present and be this client's id (RFC 7592 §2.2)",
            ));
        }
        let checked = check_metadata(&request.metadata, &self.policy, &self.scopes)?;
        if checked.is_public() != current.is_public() {
            return Err(bad(
                "token_endpoint_auth_method",
                "cannot change between \"none\" and a client secret method; register a new client",
            ));
        }
        if let Some(given) = &request.client_secret {
            let matches = current
                .secret
                .as_ref()
                .is_some_and(|hash| self.ports.hasher.verify(given, hash));
            if !matches {
                return Err(bad("client_secret", "does not match the client's secret"));
            }
        }
        let client = Client {
            name: checked
                .client_name
                .clone()
                .unwrap_or_else(|| current.id.to_string()),
            grant_types: checked.grant_types,
            scopes: checked.scopes,
            redirect_uris: checked.redirect_uris,
            post_logout_redirect_uris: checked.post_logout_redirect_uris,
            require_dpop: checked.require_dpop,
            ..current
        };
        let hash = PlainToken::from_presented(token).hash();
        if !self
            .store
            .update_registered_client(&hash, &client, checked.auth_method)?
        {
            return Err(RegisterError::InvalidToken);
        }
        tracing::info!(client_id = %client.id, "dynamically registered client updated");
        Ok(RegisteredClient {
            client,
            auth_method: checked.auth_method,
            client_secret: None,
            registration_access_token: PlainToken::from_presented(token),
        })
    }

    /// RFC 7592 §2.3: deletes the client, after revoking every grant it holds (and so
    /// every token); its registration access token goes with it.
    pub fn delete(&self, client_id: &str, token: &str) -> Result<(), RegisterError> {
        let (_, client) = self.authorise(client_id, token)?;
        let changed = accounts::delete_client(&self.ports, &client)?;
        if !changed.found {
            return Err(RegisterError::InvalidToken);
        }
        tracing::info!(client_id = %client.id, revoked_grants = changed.revoked_grants, "dynamically registered client deleted");
        Ok(())
    }

    /// The registration `token` authorises, if it is `client_id`'s, with the client.
    /// RFC 7592 §3: any mismatch, and a client that no longer exists, is 401.
    fn authorise(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<(ClientRegistration, Client), RegisterError> {
        if !TokenKind::RegistrationAccess.is_well_formed(token) {
            return Err(RegisterError::InvalidToken);
        }
        let hash = PlainToken::from_presented(token).hash();
        let registration = self
            .store
            .find_registration(&hash)?
            .filter(|r| r.client_id.as_str() == client_id)
            .ok_or(RegisterError::InvalidToken)?;
        let client = self
            .ports
            .clients
            .find_client(&registration.client_id)?
            .ok_or(RegisterError::InvalidToken)?;
        Ok((registration, client))
    }
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
