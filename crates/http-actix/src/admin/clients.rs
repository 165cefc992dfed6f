//! `/admin/clients`: register (the secret is in the response once), list by cursor, show,
//! replace the settings (PUT), rotate the secret, delete. The DTOs are this adapter's;
//! every rule is `grantd_domain::admin`'s.

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::admin::{self, AdminError, ClientUpdate, NewClient};
use grantd_domain::registration;
use grantd_ports::{AccessTokenFormat, Client, GrantType, LifetimeOverrides, ScopeSet};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

/// A client as the admin API shows it: never its secret or its hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cl_7f3a", "name": "Billing", "public": false, "admin": false,
    "grant_types": ["authorization_code", "refresh_token"], "scope": "read write",
    "default_scope": null, "redirect_uris": ["https://billing.example/cb"],
    "post_logout_redirect_uris": [], "introspect": false, "require_dpop": false,
    "access_token_lifetime": null, "refresh_token_lifetime": null,
    "refresh_token_max_lifetime": null, "access_token_format": null,
    "secret_version": 1, "created_at": 1764633600
}))]
pub(crate) struct ClientOut {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub admin: bool,
    pub grant_types: Vec<String>,
    /// Space-separated.
    pub scope: String,
    /// The client's own default scopes; null = those of `scope` the registry marks default.
    pub default_scope: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub introspect: bool,
    pub require_dpop: bool,
    /// Seconds; null = the global setting.
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub refresh_token_max_lifetime: Option<i64>,
    /// "opaque" or "jwt"; null = the global setting.
    pub access_token_format: Option<String>,
    pub secret_version: i64,
    pub created_at: i64,
}

impl From<&Client> for ClientOut {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            public: c.is_public(),
            admin: c.admin,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scope: c.scopes.to_delimited(),
            default_scope: c.default_scopes.as_ref().map(ScopeSet::to_delimited),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            introspect: c.can_introspect,
            require_dpop: c.require_dpop,
            access_token_lifetime: c.lifetimes.access_token,
            refresh_token_lifetime: c.lifetimes.refresh_token,
            refresh_token_max_lifetime: c.lifetimes.refresh_token_max,
            access_token_format: c.access_token_format.map(|f| f.as_str().to_owned()),
            secret_version: c.secret_version,
            created_at: c.created_at,
        }
    }
}

/// A client's settings: the body of `PUT /admin/clients/{client_id}` (a full
/// replacement: an omitted optional field is reset), and part of a registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Billing", "grant_types": ["authorization_code", "refresh_token"],
    "scope": "read write", "redirect_uris": ["https://billing.example/cb"]
}))]
pub(crate) struct ClientSettingsIn {
    pub name: String,
    /// Default (on registration only): authorization_code and refresh_token.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Space-separated; each must be registered.
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub default_scope: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub introspect: bool,
    #[serde(default)]
    pub require_dpop: bool,
    #[serde(default)]
    pub access_token_lifetime: Option<i64>,
    #[serde(default)]
    pub refresh_token_lifetime: Option<i64>,
    #[serde(default)]
    pub refresh_token_max_lifetime: Option<i64>,
    /// "opaque" or "jwt"; null = the global setting.
    #[serde(default)]
    pub access_token_format: Option<String>,
}

impl ClientSettingsIn {
    fn into_update(self, registering: bool) -> Result<ClientUpdate, AdminError> {
        let invalid = |field: &'static str, message: String| AdminError::Invalid { field, message };
        let grant_types = match self.grant_types {
            None if registering => registration::DEFAULT_GRANT_TYPES.to_vec(),
            None => return Err(invalid("grant_types", "is required".into())),
            Some(names) => names
                .iter()
                .map(|n| {
                    GrantType::parse(n)
                        .ok_or_else(|| invalid("grant_types", format!("unknown grant type {n:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let scopes = ScopeSet::parse(&self.scope).map_err(|e| invalid("scope", e.to_string()))?;
        let default_scopes = self
            .default_scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| invalid("default_scope", e.to_string()))?;
        let access_token_format = self
            .access_token_format
            .as_deref()
            .map(|f| {
                AccessTokenFormat::parse(f).ok_or_else(|| {
                    invalid(
                        "access_token_format",
                        "must be \"opaque\" or \"jwt\"".into(),
                    )
                })
            })
            .transpose()?;
        Ok(ClientUpdate {
            name: self.name,
            grant_types: registration::grant_types(grant_types),
            scopes,
            default_scopes,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            can_introspect: self.introspect,
            lifetimes: LifetimeOverrides {
                access_token: self.access_token_lifetime,
                refresh_token: self.refresh_token_lifetime,
                refresh_token_max: self.refresh_token_max_lifetime,
            },
            access_token_format,
            require_dpop: self.require_dpop,
        })
    }
}

/// The body of `POST /admin/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Billing", "scope": "read write", "redirect_uris": ["https://billing.example/cb"]
}))]
pub(crate) struct ClientIn {
    /// A public client (RFC 6749 §2.1) has no secret.
    #[serde(default)]
    pub public: bool,
    /// May get `grantd:admin` through client_credentials (both added).
    #[serde(default)]
    pub admin: bool,
    #[serde(flatten)]
    pub settings: ClientSettingsIn,
}

/// A registered client and its secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "client_id": "cl_7f3a", "client_secret": "gcs_Zm9vYmFy",
    "client": {
        "client_id": "cl_7f3a", "name": "Billing", "public": false, "admin": false,
        "grant_types": ["authorization_code", "refresh_token"], "scope": "read write",
        "default_scope": null, "redirect_uris": ["https://billing.example/cb"],
        "post_logout_redirect_uris": [], "introspect": false, "require_dpop": false,
        "access_token_lifetime": null, "refresh_token_lifetime": null,
        "refresh_token_max_lifetime": null, "access_token_format": null,
        "secret_version": 1, "created_at": 1764633600
    }
}))]
pub(crate) struct ClientCreated {
    pub client_id: String,
    /// null for a public client.
    pub client_secret: Option<String>,
    pub client: ClientOut,
}

/// A rotated secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "cl_7f3a", "client_secret": "gcs_YmFyYmF6"}))]
pub(crate) struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// One page of clients, by id.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"clients": [], "next_cursor": null}))]
pub(crate) struct ClientList {
    pub clients: Vec<ClientOut>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// How many grants a change revoked.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"revoked_grants": 2}))]
pub(crate) struct Revoked {
    pub revoked_grants: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<usize>,
}

#[utoipa::path(post, path = "/admin/clients", tag = "clients", request_body = ClientIn,
    responses((status = 201, body = ClientCreated), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let created = hop::write(&state, &req, "client.create", "-", move |a| {
        let body: ClientIn = hop::json(&body)?;
        let new = NewClient {
            id: None,
            secret: if body.public { None } else { Some(None) },
            admin: body.admin,
            settings: body.settings.into_update(true)?,
        };
        let issued = admin::create_client(&a.ports, &a.scopes, new)?;
        let target = issued.client.id.to_string();
        Ok(Written::new(
            ClientCreated {
                client_id: target.clone(),
                client_secret: issued.secret.clone(),
                client: ClientOut::from(&issued.client),
            },
            target,
        ))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/clients/{}", created.client_id)))
        .insert_header(("cache-control", "no-store"))
        .json(created))
}

#[utoipa::path(get, path = "/admin/clients", tag = "clients", params(ListQuery),
    responses((status = 200, body = ClientList), (status = 401, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let raw = req.query_string().to_owned();
    let page = hop::read(&state, &req, move |a| {
        let ListQuery { after, limit } = hop::query(&raw)?;
        Ok(admin::list_clients(
            &a.ports,
            after.as_deref(),
            limit.unwrap_or(50),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClientList {
        clients: page.clients.iter().map(ClientOut::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

#[utoipa::path(get, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let client = hop::read(&state, &req, move |a| {
        Ok(admin::find_client(&a.ports, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClientOut::from(&client)))
}

#[utoipa::path(put, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)), request_body = ClientSettingsIn,
    responses((status = 200, body = ClientOut), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn replace(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    let client = hop::write(&state, &req, "client.update", &requested, move |a| {
        let body: ClientSettingsIn = hop::json(&body)?;
        let update = body.into_update(false)?;
        let client = admin::update_client(&a.ports, &a.scopes, &id, update)?;
        Ok(Written::new(client, id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClientOut::from(&client)))
}

#[utoipa::path(post, path = "/admin/clients/{client_id}/rotate-secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = Credentials), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    let issued = hop::write(&state, &req, "client.rotate_secret", &requested, move |a| {
        let issued = admin::rotate_client_secret(&a.ports, &id)?;
        Ok(Written::new(issued, id))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(Credentials {
            client_id: issued.client.id.to_string(),
            client_secret: issued.secret.unwrap_or_default(),
        }))
}

#[utoipa::path(delete, path = "/admin/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = Revoked, description = "deleted, after revoking its grants"),
        (status = 401, body = Problem), (status = 404, body = Problem, description = "no such client (also on a repeated DELETE)")),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    let revoked = hop::write(&state, &req, "client.delete", &requested, move |a| {
        Ok(Written::new(admin::delete_client(&a.ports, &id)?, id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Revoked {
        revoked_grants: revoked,
    }))
}
