//! `/admin/registration-tokens`: the initial access tokens of dynamic client registration
//! (RFC 7591 §3), as `grantd registration token create | list | revoke` manages them, over
//! the one use case both share (`grantd_domain::dynamic_registration::InitialAccessTokens`).
//! A token is in the response of its creation only (with `Cache-Control: no-store`); the
//! listing and the audit line name it by its id, never by its value.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_ports::InitialAccessToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

/// The CLI's defaults (`--expires-in 86400 --uses 1`).
const DEFAULT_EXPIRES_IN: i64 = 86_400;
const DEFAULT_USES: i64 = 1;

/// The body of `POST /admin/registration-tokens`; an empty body takes the defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_in": 3600, "uses": 5}))]
pub(crate) struct RegistrationTokenIn {
    /// Seconds until it expires: 1 to 31536000 (a year); default 86400.
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
    /// How many clients it may register: 1 to 1000000; default 1.
    #[serde(default = "default_uses")]
    pub uses: i64,
}

fn default_expires_in() -> i64 {
    DEFAULT_EXPIRES_IN
}

fn default_uses() -> i64 {
    DEFAULT_USES
}

/// An initial access token as listed: never the token itself.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "it_3k9x", "created_at": 1764633600, "expires_at": 1764637200,
    "uses_left": 5, "revoked_at": null
}))]
pub(crate) struct RegistrationTokenOut {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Registrations it still allows.
    pub uses_left: i64,
    /// null while not revoked.
    pub revoked_at: Option<i64>,
}

impl From<&InitialAccessToken> for RegistrationTokenOut {
    fn from(t: &InitialAccessToken) -> Self {
        Self {
            id: t.id.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            uses_left: t.uses_left,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new initial access token: the only time its value is shown. The fields are those
/// `grantd registration token create` prints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "initial_access_token": "gia_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6",
    "id": "it_3k9x", "created_at": 1764633600, "expires_at": 1764637200, "uses_left": 5
}))]
pub(crate) struct RegistrationTokenCreated {
    /// The bearer token for `POST /oauth/register` (RFC 7591 §3).
    pub initial_access_token: String,
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub uses_left: i64,
}

/// Every initial access token, spent, expired and revoked ones too.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"registration_tokens": []}))]
pub(crate) struct RegistrationTokenList {
    pub registration_tokens: Vec<RegistrationTokenOut>,
}

#[utoipa::path(post, path = "/admin/registration-tokens", tag = "registration",
    request_body = RegistrationTokenIn,
    responses((status = 201, body = RegistrationTokenCreated, description = "the token, shown this once"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let created = hop::write(&state, &req, "registration_token.create", "-", move |a| {
        // No body is `{}`: serde's defaults, the one home of the CLI's defaults here.
        let body: RegistrationTokenIn = hop::json(if body.is_empty() { b"{}" } else { &body })?;
        let issued = a.initial_tokens.create(body.expires_in, body.uses)?;
        let id = issued.record.id.clone();
        Ok(Written::new(
            RegistrationTokenCreated {
                initial_access_token: issued.token.expose().to_owned(),
                id: id.clone(),
                created_at: issued.record.created_at,
                expires_at: issued.record.expires_at,
                uses_left: issued.record.uses_left,
            },
            id,
        ))
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            "location",
            format!("/admin/registration-tokens/{}", created.id),
        ))
        .insert_header(("cache-control", "no-store"))
        .json(created))
}

#[utoipa::path(get, path = "/admin/registration-tokens", tag = "registration",
    responses((status = 200, body = RegistrationTokenList), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let tokens = hop::read(&state, &req, |a| Ok(a.initial_tokens.list()?)).await?;
    Ok(HttpResponse::Ok().json(RegistrationTokenList {
        registration_tokens: tokens.iter().map(RegistrationTokenOut::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/admin/registration-tokens/{token_id}", tag = "registration",
    params(("token_id" = String, Path, description = "the token's id (`it_…`)")),
    responses((status = 204, description = "revoked: it registers no more clients; those it registered stay"),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "no such token, or revoked already (also on a repeated DELETE)")),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let requested = id.clone();
    hop::write(
        &state,
        &req,
        "registration_token.revoke",
        &requested,
        move |a| {
            if !a.initial_tokens.revoke(&id)? {
                return Err(Problem::not_found(
                    "no initial access token with this id that is not revoked already",
                ));
            }
            Ok(Written::new((), id))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
