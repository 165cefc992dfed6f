//! The admin API (`server.admin_bind`) over HTTP: who gets in (auth.rs), each resource
//! (clients.rs, users.rs, grants.rs, keys.rs, registration_tokens.rs), the OpenAPI
//! document (openapi.rs), and the audit lines (captured by audit_log.rs).

mod audit_log;
mod auth;
mod clients;
mod grants;
mod keys;
mod openapi;
mod registration_tokens;
mod users;

use reqwest::Method;
use serde_json::Value;

use crate::common::*;

/// A running app, an admin client of it and that client's admin token.
pub struct Admin {
    pub app: TestApp,
    pub client_id: String,
    pub secret: String,
    pub token: String,
}

impl Admin {
    pub fn start(backend: Backend) -> Self {
        Self::on(TestApp::start(backend, Default::default()))
    }

    pub fn on(app: TestApp) -> Self {
        audit_log::install();
        let (client_id, secret) = app.create_admin_client();
        let token = admin_token(&app, &client_id, &secret);
        Self {
            app,
            client_id,
            secret,
            token,
        }
    }

    /// A request with the admin token; returns the status, the JSON body (Null if none)
    /// and the response's content type.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        call(&self.app, method, path, Some(&self.token), body)
    }

    /// The audit lines of this admin client so far.
    pub fn audit(&self) -> Vec<String> {
        audit_log::lines_with(&format!("actor={}", self.client_id))
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
    pub challenge: Option<String>,
}

pub fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = http().request(method, app.admin_url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let challenge = header("www-authenticate");
    let text = response.text().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        body,
        content_type,
        challenge,
    }
}

/// `client_credentials` with `scope=grantd:admin` for this client.
pub fn admin_token(app: &TestApp, client_id: &str, secret: &str) -> String {
    let (status, body) = json(token_request(
        app,
        Some((client_id, secret)),
        "grant_type=client_credentials&scope=grantd:admin",
    ));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A problem document (RFC 9457) with this status.
pub fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.content_type, "application/problem+json", "{reply:?}");
    assert_eq!(reply.body["status"], status, "{reply:?}");
    assert!(
        reply.body["type"].as_str().unwrap().starts_with("https://"),
        "{reply:?}"
    );
}

/// A validation problem naming `field`.
pub fn assert_invalid(reply: &Reply, field: &str) {
    assert_problem(reply, 422);
    assert_eq!(reply.body["field"], field, "{reply:?}");
}
