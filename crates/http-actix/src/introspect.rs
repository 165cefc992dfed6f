//! `POST /oauth/introspect` (RFC 7662), for clients registered with the introspection
//! right. An inactive token is exactly `{"active": false}` (§2.2).

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::Introspection;
use grantd_ports::Subject;
use serde_json::{json, Value};

use crate::client_endpoint::authenticated;
use crate::errors::OAuthError;
use crate::HttpState;

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let found = authenticated(&req, payload, &state, |use_cases, client, form| {
        let token = form.require("token")?;
        Ok(use_cases.introspection.introspect(client, token)?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(body(found)))
}

fn body(found: Option<Introspection>) -> Value {
    let Some(t) = found else {
        return json!({ "active": false });
    };
    let (sub, username) = match &t.subject {
        Subject::User { id, username } => (id.to_string(), Some(username.to_string())),
        Subject::Client => (t.client_id.to_string(), None),
    };
    let mut v = json!({
        "active": true,
        "scope": t.scope.to_delimited(),
        "client_id": t.client_id.as_str(),
        "sub": sub,
        "token_type": t.token_type,
        "exp": t.exp,
        "iat": t.iat,
    });
    if let Some(username) = username {
        v["username"] = Value::String(username);
    }
    // RFC 9449 §6.2: the key a bound token is for.
    if let Some(jkt) = &t.cnf_jkt {
        v["cnf"] = json!({ "jkt": jkt });
    }
    // RFC 7662 §2.2 `aud`: one audience as a string, several as an array (RFC 7519 §4.1.3).
    match t.aud.as_slice() {
        [] => {}
        [one] => v["aud"] = Value::String(one.clone()),
        many => v["aud"] = json!(many),
    }
    v
}
