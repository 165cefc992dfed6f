//! Grants and consents: the live grants of a user or a client (client, scope, created,
//! last refreshed, absolute expiry), revoking one grant (every token of it, at once) or
//! all of a user's or a client's; a user's remembered consents and forgetting them.

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::admin;
use grantd_ports::{Consent, GrantOverview, Subject};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::clients::Revoked;
use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

/// A live grant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "grant_id": "g_9d1e", "client_id": "cl_7f3a", "client_name": "Billing",
    "username": "alice", "scope": "read write", "created_at": 1764633600,
    "last_refreshed_at": 1764637200, "expires_at": null
}))]
pub(crate) struct GrantOut {
    pub grant_id: String,
    pub client_id: String,
    pub client_name: String,
    /// The person it acts for; null for a client's own (client_credentials) grant.
    pub username: Option<String>,
    pub scope: String,
    pub created_at: i64,
    /// When a token of the grant was last issued by a refresh; null if never.
    pub last_refreshed_at: Option<i64>,
    /// The absolute end (`refresh_token_max_lifetime`); null = no cap.
    pub expires_at: Option<i64>,
}

impl From<&GrantOverview> for GrantOut {
    fn from(g: &GrantOverview) -> Self {
        Self {
            grant_id: g.grant.id.to_string(),
            client_id: g.grant.client_id.to_string(),
            client_name: g.client_name.clone(),
            username: match &g.grant.subject {
                Subject::User { username, .. } => Some(username.to_string()),
                Subject::Client => None,
            },
            scope: g.grant.scope.to_delimited(),
            created_at: g.grant.created_at,
            last_refreshed_at: g.last_refreshed_at,
            expires_at: g.grant.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"grants": []}))]
pub(crate) struct GrantList {
    pub grants: Vec<GrantOut>,
}

/// A remembered consent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "cl_7f3a", "scope": "read", "created_at": 1764633600}))]
pub(crate) struct ConsentOut {
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
}

impl From<&Consent> for ConsentOut {
    fn from(c: &Consent) -> Self {
        Self {
            client_id: c.client_id.to_string(),
            scope: c.scope.to_delimited(),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"consents": []}))]
pub(crate) struct ConsentList {
    pub consents: Vec<ConsentOut>,
}

/// How many consents were forgotten.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"revoked_consents": 1}))]
pub(crate) struct ConsentsRevoked {
    pub revoked_consents: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentQuery {
    /// Only the consent to this client (default: all of the user's).
    pub client_id: Option<String>,
}

fn grant_list(grants: &[GrantOverview]) -> GrantList {
    GrantList {
        grants: grants.iter().map(GrantOut::from).collect(),
    }
}

#[utoipa::path(get, path = "/admin/users/{username}/grants", tag = "grants",
    params(("username" = String, Path)),
    responses((status = 200, body = GrantList), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn of_user(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let grants = hop::read(&state, &req, move |a| {
        Ok(admin::grants_of_user(&a.ports, &username)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(grant_list(&grants)))
}

#[utoipa::path(get, path = "/admin/clients/{client_id}/grants", tag = "grants",
    params(("client_id" = String, Path)),
    responses((status = 200, body = GrantList), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn of_client(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let grants = hop::read(&state, &req, move |a| {
        Ok(admin::grants_of_client(&a.ports, &id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(grant_list(&grants)))
}

#[utoipa::path(delete, path = "/admin/grants/{grant_id}", tag = "grants",
    params(("grant_id" = String, Path)),
    responses((status = 204, description = "revoked: every token of the grant, at once"),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "no live grant (also on a repeated DELETE)")),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    hop::write(&state, &req, "grant.revoke", &requested, move |a| {
        admin::revoke_grant(&a.ports, &id)?;
        Ok(Written::new((), id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/admin/users/{username}/grants", tag = "grants",
    params(("username" = String, Path)),
    responses((status = 200, body = Revoked, description = "every live grant revoked (0 when none: idempotent)"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_of_user(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let requested = username.clone();
    let revoked = hop::write(&state, &req, "user.revoke_grants", &requested, move |a| {
        let n = admin::revoke_grants_of_user(&a.ports, &username)?;
        Ok(Written::new(n, username))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Revoked {
        revoked_grants: revoked,
    }))
}

#[utoipa::path(delete, path = "/admin/clients/{client_id}/grants", tag = "grants",
    params(("client_id" = String, Path)),
    responses((status = 200, body = Revoked, description = "every live grant revoked (0 when none: idempotent)"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_of_client(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    let revoked = hop::write(&state, &req, "client.revoke_grants", &requested, move |a| {
        let n = admin::revoke_grants_of_client(&a.ports, &id)?;
        Ok(Written::new(n, id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Revoked {
        revoked_grants: revoked,
    }))
}

#[utoipa::path(get, path = "/admin/users/{username}/consents", tag = "consents",
    params(("username" = String, Path)),
    responses((status = 200, body = ConsentList), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn consents(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let consents = hop::read(&state, &req, move |a| {
        Ok(admin::consents_of_user(&a.ports, &username)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConsentList {
        consents: consents.iter().map(ConsentOut::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/admin/users/{username}/consents", tag = "consents",
    params(("username" = String, Path), ConsentQuery),
    responses((status = 200, body = ConsentsRevoked, description = "forgotten (0 when none: idempotent); tokens already issued are untouched"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn revoke_consents(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let requested = username.clone();
    let raw = req.query_string().to_owned();
    let removed = hop::write(&state, &req, "consent.revoke", &requested, move |a| {
        let ConsentQuery { client_id: client } = hop::query(&raw)?;
        let n = admin::revoke_consents(&a.ports, &username, client.as_deref())?;
        Ok(Written::new(n, username))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConsentsRevoked {
        revoked_consents: removed,
    }))
}
