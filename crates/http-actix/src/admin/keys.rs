//! `/admin/keys`: the JWT signing keys, as `grantd keys` manages them: list (never a
//! private part), rotate (a new key, published at once, signing after
//! `keys.publish_ahead`), retire (signs nothing more, stays published while tokens it may
//! have signed live). Without `keys.encryption_key` these answer 409 `no-signing-keys`.

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::admin::{self, AdminError};
use grantd_domain::signing_keys::key_state;
use grantd_ports::SigningKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "kid": "k_2026-12-02_a1", "alg": "ES256", "state": "signing",
    "created_at": 1764633600, "activates_at": 1764633600,
    "retired_at": null, "published_until": null
}))]
pub(crate) struct KeyOut {
    pub kid: String,
    pub alg: String,
    /// signing, pending, published, retired (still published) or expired.
    pub state: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub published_until: Option<i64>,
}

fn view(keys: &[SigningKey], key: &SigningKey, now: i64) -> KeyOut {
    KeyOut {
        kid: key.kid.clone(),
        alg: key.algorithm.as_str().to_owned(),
        state: key_state(keys, key, now).to_owned(),
        created_at: key.created_at,
        activates_at: key.activates_at,
        retired_at: key.retired_at,
        published_until: key.published_until,
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"keys": []}))]
pub(crate) struct KeyList {
    pub keys: Vec<KeyOut>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kid": "k_2026-12-02_a1", "published_for_secs": 3600}))]
pub(crate) struct KeyRetired {
    pub kid: String,
    /// How long it stays published (the longest access token lifetime).
    pub published_for_secs: i64,
}

#[utoipa::path(get, path = "/admin/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let keys = hop::read(&state, &req, |a| {
        let ring = a.keys.as_ref().ok_or(AdminError::NoSigningKeys)?;
        let keys = ring.list()?;
        let now = ring.now();
        Ok(keys.iter().map(|k| view(&keys, k, now)).collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyList { keys }))
}

#[utoipa::path(post, path = "/admin/keys", tag = "keys",
    responses((status = 201, body = KeyOut, description = "rotated: a new key"),
        (status = 401, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn rotate(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let key = hop::write(&state, &req, "key.rotate", "-", |a| {
        let ring = a.keys.as_ref().ok_or(AdminError::NoSigningKeys)?;
        let key = ring.rotate()?;
        let keys = ring.list()?;
        let kid = key.kid.clone();
        Ok(Written::new(view(&keys, &key, ring.now()), kid))
    })
    .await?;
    Ok(HttpResponse::Created().json(key))
}

#[utoipa::path(post, path = "/admin/keys/{kid}/retire", tag = "keys",
    params(("kid" = String, Path)),
    responses((status = 200, body = KeyRetired), (status = 401, body = Problem),
        (status = 404, body = Problem, description = "no live key (also once retired)"),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn retire(
    req: HttpRequest,
    state: web::Data<HttpState>,
    kid: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let kid = kid.into_inner();
    let requested = kid.clone();
    let retired = hop::write(&state, &req, "key.retire", &requested, move |a| {
        let ring = a.keys.as_ref().ok_or(AdminError::NoSigningKeys)?;
        let secs = admin::retire_key(ring, &a.ports, &a.settings, &kid)?;
        Ok(Written::new(
            KeyRetired {
                kid: kid.clone(),
                published_for_secs: secs,
            },
            kid,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(retired))
}
