//! Clients: register (the secret minted here and shown once), list a page, show, change
//! the settings, rotate the secret, delete. Every registration rule is
//! `crate::registration`'s, checked again on each change, so an update cannot reach a
//! state that `create` would refuse.

use std::fmt;

use grantd_ports::{
    AccessTokenFormat, Client, ClientId, GrantType, LifetimeOverrides, ScopeSet, StoreError,
    TokenKind,
};

use super::{AdminError, MAX_PAGE_SIZE};
use crate::registration::{self, ClientScopes, RegistrationError};
use crate::scope_rules::ADMIN_SCOPE;
use crate::{accounts, PortSet, ScopeRegistry};

/// A new client's registration, as the CLI, `--demo` or the admin API asks for it.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// `None` = mint one (`cl_` + a random id).
    pub id: Option<ClientId>,
    /// `None` = public client; `Some(None)` = mint a secret; `Some(Some(s))` = use `s`
    /// (only `--demo` does, with its well-known secret).
    pub secret: Option<Option<String>>,
    /// May be granted `grantd:admin` through `client_credentials` (confidential only).
    pub admin: bool,
    pub settings: ClientUpdate,
}

/// What an administrator may change on a client (and sets at registration): everything
/// but its id, its kind (public or confidential, admin or not) and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUpdate {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    /// Each must be registered.
    pub scopes: ScopeSet,
    /// `None` = the registry's defaults within `scopes`; else a subset of `scopes`.
    pub default_scopes: Option<ScopeSet>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user afterwards; checked like redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    pub can_introspect: bool,
    /// Per-client token lifetimes; `None` fields use the global `[tokens]` settings.
    pub lifetimes: LifetimeOverrides,
    /// `None` = the global `tokens.access_token_format`.
    pub access_token_format: Option<AccessTokenFormat>,
    /// Token requests without a DPoP proof are refused (RFC 9449 §5.2).
    pub require_dpop: bool,
}

/// A registered client and its plain secret, which exists only in this value. `Debug`
/// never shows the secret.
pub struct IssuedClient {
    pub client: Client,
    /// `None` for a public client.
    pub secret: Option<String>,
}

impl fmt::Debug for IssuedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedClient")
            .field("client", &self.client.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One page of clients, ordered by id; `next` is the cursor of the following page.
#[derive(Debug, Clone)]
pub struct ClientPage {
    pub clients: Vec<Client>,
    /// The last id of this page when more follow (pass it as `after`), else `None`.
    pub next: Option<ClientId>,
}

/// Names the admin API's field for each registration rule.
fn field_of(e: &RegistrationError) -> &'static str {
    match e {
        RegistrationError::EmptyName => "name",
        RegistrationError::PublicClientCredentials => "grant_types",
        RegistrationError::RelativeRedirectUri(_)
        | RegistrationError::RedirectUriFragment(_)
        | RegistrationError::RedirectUriWhitespace(_) => "redirect_uris",
        RegistrationError::UnregisteredScope(_) => "scope",
        RegistrationError::DefaultScopeNotAllowed(_) => "default_scope",
    }
}

/// Every rule of a client's settings, for its kind; returns the name as stored (trimmed).
fn check(
    settings: &ClientUpdate,
    public: bool,
    admin: bool,
    registry: &ScopeRegistry,
) -> Result<String, AdminError> {
    if admin && public {
        return Err(AdminError::invalid(
            "admin",
            "an admin client must be confidential (it uses client_credentials)",
        ));
    }
    let name = registration::check_registration(
        &settings.name,
        public,
        &settings.grant_types,
        &settings.redirect_uris,
        ClientScopes {
            scopes: &settings.scopes,
            default_scopes: settings.default_scopes.as_ref(),
        },
        registry,
    )
    .map_err(|e| AdminError::invalid(field_of(&e), e))?
    .to_owned();
    registration::check_post_logout_redirect_uris(&settings.post_logout_redirect_uris)
        .map_err(|e| AdminError::invalid("post_logout_redirect_uris", e))?;
    if settings.grant_types.is_empty() {
        return Err(AdminError::invalid(
            "grant_types",
            "a client needs at least one grant type",
        ));
    }
    check_lifetimes(&settings.lifetimes)?;
    // The admin API's scope is a credential of the admin client itself (scope_rules).
    if settings.scopes.contains(ADMIN_SCOPE) && !admin {
        return Err(AdminError::invalid(
            "scope",
            format!("{ADMIN_SCOPE} is only for clients registered as admin"),
        ));
    }
    Ok(name)
}

/// Lifetimes are positive; the grant cap may be 0 (= none).
fn check_lifetimes(l: &LifetimeOverrides) -> Result<(), AdminError> {
    for (field, value, least) in [
        ("access_token_lifetime", l.access_token, 1),
        ("refresh_token_lifetime", l.refresh_token, 1),
        ("refresh_token_max_lifetime", l.refresh_token_max, 0),
    ] {
        if value.is_some_and(|v| v < least) {
            return Err(AdminError::invalid(
                field,
                format!("must be at least {least}"),
            ));
        }
    }
    Ok(())
}

/// Checks the registration (its scopes against `registry`), then mints, hashes and
/// stores the client. An admin client gets `client_credentials` and `grantd:admin` added.
pub fn create_client(
    ports: &PortSet,
    registry: &ScopeRegistry,
    new: NewClient,
) -> Result<IssuedClient, AdminError> {
    let mut settings = new.settings;
    if new.admin {
        if !settings.grant_types.contains(&GrantType::ClientCredentials) {
            settings.grant_types.push(GrantType::ClientCredentials);
        }
        let with_admin = format!("{} {ADMIN_SCOPE}", settings.scopes.to_delimited());
        settings.scopes =
            ScopeSet::parse(&with_admin).map_err(|e| AdminError::invalid("scope", e))?;
    }
    let name = check(&settings, new.secret.is_none(), new.admin, registry)?;
    let id = match new.id {
        Some(id) => id,
        None => ClientId::parse(&format!("cl_{}", ports.minter.mint_id()))
            .map_err(|e| StoreError::Other(format!("minted an invalid client id: {e}")))?,
    };
    let secret = match new.secret {
        None => None,
        Some(Some(given)) => Some(given),
        Some(None) => Some(
            ports
                .minter
                .mint(TokenKind::ClientSecret)
                .expose()
                .to_owned(),
        ),
    };
    let client = Client {
        id: id.clone(),
        name,
        secret: secret
            .as_deref()
            .map(|s| ports.hasher.hash_client_secret(s)),
        secret_version: 1,
        grant_types: settings.grant_types,
        scopes: settings.scopes,
        default_scopes: settings.default_scopes,
        redirect_uris: settings.redirect_uris,
        post_logout_redirect_uris: settings.post_logout_redirect_uris,
        can_introspect: settings.can_introspect,
        lifetimes: settings.lifetimes,
        access_token_format: settings.access_token_format,
        created_at: ports.clock.now(),
        require_dpop: settings.require_dpop,
        admin: new.admin,
    };
    match ports.clients.insert_client(&client) {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::Conflict(format!(
                "a client with id {id} already exists"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    if registration::code_flow_without_redirect_uri(&client.grant_types, &client.redirect_uris) {
        tracing::warn!(client_id = %id, "client allows authorization_code but has no redirect URI");
    }
    Ok(IssuedClient { client, secret })
}

/// The client with this id; an id that is not even well-formed cannot exist.
pub fn find_client(ports: &PortSet, id: &str) -> Result<Client, AdminError> {
    let not_found = || AdminError::NotFound(format!("no client with id {id}"));
    let parsed = ClientId::parse(id).map_err(|_| not_found())?;
    ports.clients.find_client(&parsed)?.ok_or_else(not_found)
}

/// At most `limit` (1 to [`MAX_PAGE_SIZE`]) clients with ids after `after`, by id.
pub fn list_clients(
    ports: &PortSet,
    after: Option<&str>,
    limit: usize,
) -> Result<ClientPage, AdminError> {
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(AdminError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    // The store orders by id the same way on both backends (bytes, not a collation), so
    // a cursor is the last id seen: stable under inserts and deletes between pages.
    let all = ports.clients.list_clients()?;
    let mut rest: Vec<Client> = all
        .into_iter()
        .filter(|c| after.is_none_or(|a| c.id.as_str() > a))
        .take(limit + 1)
        .collect();
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(|c| c.id.clone())
    } else {
        None
    };
    Ok(ClientPage {
        clients: rest,
        next,
    })
}

/// Replaces the client's settings after checking them as a registration; returns the
/// client as stored. The same settings again change nothing (PUT is idempotent).
pub fn update_client(
    ports: &PortSet,
    registry: &ScopeRegistry,
    id: &str,
    update: ClientUpdate,
) -> Result<Client, AdminError> {
    let current = find_client(ports, id)?;
    let mut update = update;
    if current.admin && !update.scopes.contains(ADMIN_SCOPE) {
        // An admin client keeps its credential's scope: it is what makes it one.
        let with_admin = format!("{} {ADMIN_SCOPE}", update.scopes.to_delimited());
        update.scopes =
            ScopeSet::parse(&with_admin).map_err(|e| AdminError::invalid("scope", e))?;
    }
    let name = check(&update, current.is_public(), current.admin, registry)?;
    let client = Client {
        name,
        grant_types: update.grant_types,
        scopes: update.scopes,
        default_scopes: update.default_scopes,
        redirect_uris: update.redirect_uris,
        post_logout_redirect_uris: update.post_logout_redirect_uris,
        can_introspect: update.can_introspect,
        lifetimes: update.lifetimes,
        access_token_format: update.access_token_format,
        require_dpop: update.require_dpop,
        ..current.clone()
    };
    // A PUT that changes nothing writes nothing: every write bumps the row's version,
    // which would end the in-memory authentication of the client's instances for naught.
    if client == current {
        return Ok(current);
    }
    if !ports.clients.update_client(&client)? {
        return Err(AdminError::NotFound(format!("no client with id {id}")));
    }
    // As stored: the store bumped its version.
    find_client(ports, id)
}

/// Mints and stores a new secret for a confidential client (the only time it exists in
/// plain). Its grants are kept: they belong to the client, not to its secret.
pub fn rotate_client_secret(ports: &PortSet, id: &str) -> Result<IssuedClient, AdminError> {
    let client = find_client(ports, id)?;
    if client.is_public() {
        return Err(AdminError::invalid(
            "client_id",
            format!("client {id} is public and has no secret"),
        ));
    }
    let Some(secret) = accounts::rotate_client_secret(ports, &client)? else {
        return Err(AdminError::NotFound(format!("no client with id {id}")));
    };
    Ok(IssuedClient {
        client,
        secret: Some(secret.expose().to_owned()),
    })
}

/// Deletes the client after revoking its grants; returns how many were revoked.
pub fn delete_client(ports: &PortSet, id: &str) -> Result<u64, AdminError> {
    let client = find_client(ports, id)?;
    let changed = accounts::delete_client(ports, &client)?;
    if !changed.found {
        return Err(AdminError::NotFound(format!("no client with id {id}")));
    }
    Ok(changed.revoked_grants)
}
