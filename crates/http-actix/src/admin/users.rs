//! `/admin/users`: create (the password in the body, hashed in the domain, never logged),
//! show, change the profile (PATCH, JSON merge patch: absent = keep, null = clear),
//! set the password, disable, enable, delete. Users are addressed by username, as the CLI
//! addresses them.

use std::fmt;

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::accounts::{self, NewPassword};
use grantd_domain::admin::{self, AdminError};
use grantd_domain::user_profile::{self, Change, ProfileUpdate, UpdateProfileError};
use grantd_ports::{User, Username};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::clients::Revoked;
use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

/// A user as the admin API shows them: never the password hash or the session stamp.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user_id": "u_1b2c", "username": "alice", "disabled": false, "name": "Alice",
    "email": "alice@example.com", "email_verified": true, "created_at": 1764633600
}))]
pub(crate) struct UserOut {
    pub user_id: String,
    pub username: String,
    pub disabled: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: i64,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.id.to_string(),
            username: u.username.to_string(),
            disabled: u.disabled,
            name: u.profile.name.clone(),
            email: u.profile.email.clone(),
            email_verified: u.profile.email_verified,
            created_at: u.created_at,
        }
    }
}

/// The body of `POST /admin/users`. `Debug` never shows the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "alice", "password": "correct horse battery", "email": "alice@example.com"}))]
pub(crate) struct UserIn {
    pub username: String,
    /// 1 to 72 bytes (bcrypt reads no further).
    pub password: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
}

impl fmt::Debug for UserIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserIn")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The body of `PUT /admin/users/{username}/password`. `Debug` never shows it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "a new passphrase"}))]
pub(crate) struct PasswordIn {
    pub password: String,
}

impl fmt::Debug for PasswordIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordIn(<redacted>)")
    }
}

/// Present (a value or null) is `Some`; absent is `None` via `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The body of `PATCH /admin/users/{username}` (RFC 7396 merge patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Alice Liddell", "email": null}))]
pub(crate) struct UserPatch {
    /// A string sets it, null clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

fn change(value: Option<Option<String>>) -> Change<String> {
    match value {
        None => Change::Keep,
        Some(None) => Change::Clear,
        Some(Some(v)) => Change::Set(v),
    }
}

fn password(raw: &str) -> Result<NewPassword, AdminError> {
    NewPassword::parse(raw).map_err(|e| AdminError::Invalid {
        field: "password",
        message: e.to_string(),
    })
}

fn not_found(username: &str) -> AdminError {
    AdminError::NotFound(format!("no user named {username}"))
}

#[utoipa::path(post, path = "/admin/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 401, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let user = hop::write(&state, &req, "user.create", "-", move |a| {
        let body: UserIn = hop::json(&body)?;
        let username = Username::parse(&body.username).map_err(|e| AdminError::Invalid {
            field: "username",
            message: e.to_string(),
        })?;
        let profile = user_profile::new_profile(
            body.name.as_deref(),
            body.email.as_deref(),
            body.email_verified,
        )
        .map_err(|e| AdminError::Invalid {
            field: "profile",
            message: e.to_string(),
        })?;
        let password = password(&body.password)?;
        let user = admin::create_user(&a.ports, &username, &password, profile)?;
        let target = user.id.to_string();
        Ok(Written::new(user, target))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/admin/users/{}", user.username)))
        .json(UserOut::from(&user)))
}

#[utoipa::path(get, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = UserOut), (status = 401, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let user = hop::read(&state, &req, move |a| {
        Ok(admin::find_user(&a.ports, &username)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

#[utoipa::path(patch, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn update(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let requested = username.clone();
    let user = hop::write(&state, &req, "user.update", &requested, move |a| {
        let body: UserPatch = hop::json(&body)?;
        let user = admin::find_user(&a.ports, &username)?;
        let update = ProfileUpdate {
            name: change(body.name),
            email: change(body.email),
            email_verified: body.email_verified,
        };
        let profile = match user_profile::update_profile(&a.ports, &user, &update) {
            Ok(Some(profile)) => profile,
            Ok(None) => return Err(not_found(&username).into()),
            Err(UpdateProfileError::Invalid(e)) => {
                return Err(AdminError::Invalid {
                    field: "profile",
                    message: e.to_string(),
                }
                .into())
            }
            Err(UpdateProfileError::Store(e)) => return Err(e.into()),
        };
        let target = user.id.to_string();
        Ok(Written::new(User { profile, ..user }, target))
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserOut::from(&user)))
}

/// Which lifecycle change a route makes; each revokes what `accounts` says it revokes.
#[derive(Clone, Copy)]
enum Lifecycle {
    Disable,
    Enable,
    Delete,
}

async fn lifecycle(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: String,
    change: Lifecycle,
) -> Result<HttpResponse, Problem> {
    let action = match change {
        Lifecycle::Disable => "user.disable",
        Lifecycle::Enable => "user.enable",
        Lifecycle::Delete => "user.delete",
    };
    let requested = username.clone();
    let revoked = hop::write(&state, &req, action, &requested, move |a| {
        let user = admin::find_user(&a.ports, &username)?;
        let changed = match change {
            Lifecycle::Disable => accounts::disable_user(&a.ports, &user)?,
            Lifecycle::Enable => accounts::enable_user(&a.ports, &user)?,
            Lifecycle::Delete => accounts::delete_user(&a.ports, &user)?,
        };
        if !changed.found {
            return Err(not_found(&username).into());
        }
        Ok(Written::new(changed.revoked_grants, user.id.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Revoked {
        revoked_grants: revoked,
    }))
}

#[utoipa::path(post, path = "/admin/users/{username}/disable", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Revoked, description = "disabled (again: idempotent); its grants, codes and sessions ended"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn disable(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    lifecycle(req, state, username.into_inner(), Lifecycle::Disable).await
}

#[utoipa::path(post, path = "/admin/users/{username}/enable", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Revoked, description = "enabled (again: idempotent)"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn enable(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    lifecycle(req, state, username.into_inner(), Lifecycle::Enable).await
}

#[utoipa::path(delete, path = "/admin/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Revoked, description = "deleted, after revoking every grant"),
        (status = 401, body = Problem), (status = 404, body = Problem, description = "no such user (also on a repeated DELETE)")),
    security(("bearer" = [])))]
pub(crate) async fn delete(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    lifecycle(req, state, username.into_inner(), Lifecycle::Delete).await
}

#[utoipa::path(put, path = "/admin/users/{username}/password", tag = "users",
    params(("username" = String, Path)), request_body = PasswordIn,
    responses((status = 200, body = Revoked, description = "set; every grant, code and session of the user ended"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn set_password(
    req: HttpRequest,
    state: web::Data<HttpState>,
    username: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let username = username.into_inner();
    let requested = username.clone();
    let revoked = hop::write(&state, &req, "user.set_password", &requested, move |a| {
        let body: PasswordIn = hop::json(&body)?;
        let password = password(&body.password)?;
        let user = admin::find_user(&a.ports, &username)?;
        let changed = accounts::change_password(&a.ports, &user, &password)?;
        if !changed.found {
            return Err(not_found(&username).into());
        }
        Ok(Written::new(changed.revoked_grants, user.id.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Revoked {
        revoked_grants: revoked,
    }))
}
