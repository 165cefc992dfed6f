//! The authorization endpoint (RFC 6749 §4.1.1, §4.1.2) and its pages: `GET` shows the
//! login or consent page (or, with a remembered consent, redirects at once), `POST` takes
//! the login form or the Allow/Deny decision. Each request makes one `web::block` hop in
//! which the domain decides everything; this module only parses, renders and sets
//! cookies and headers.

mod account;
mod account_page;
mod csrf;
mod decide;
mod logout;
mod pages;
mod redirect;
mod rp_logout;
pub mod session;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::authorize_request::AuthorizeParams;

use crate::body::read_form;
use crate::errors::log_store_failure;
use crate::form::Form;
use crate::ops::Busy;
use crate::{source_address, HttpState};

pub use account::{account_get, account_post};
use decide::{decide, unavailable, Action, Outcome};
pub use logout::logout;
pub use rp_logout::rp_logout;
use session::Session;
pub use session::SessionKey;

/// How the pages keep their session.
#[derive(Debug, Clone)]
pub struct AuthorizePages {
    /// Signs session cookies and derives CSRF tokens; the same on every instance.
    pub session_key: SessionKey,
    /// Seconds a login lasts.
    pub session_lifetime: i64,
    /// Serve `GET /callback` (the demo client's redirect URI) as a page showing the code.
    pub demo_callback: bool,
    /// The issuer is https: the session cookie is `__Host-` prefixed and `Secure`.
    pub secure_cookies: bool,
}

const STYLESHEET: &str = include_str!("../../assets/grantd.css");

/// `GET /assets/grantd.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

/// `GET /oauth/authorize`.
pub async fn authorize_get(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    let Ok(params) = parse_params(req.query_string()) else {
        return malformed();
    };
    let session = current_session(&req, &state);
    respond(&req, &state, params, session, Action::Show).await
}

/// `POST /oauth/authorize`: the login form or the consent decision. The authorization
/// request rides along in the query string, as the form's action repeats it.
pub async fn authorize_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let Ok(params) = parse_params(req.query_string()) else {
        return malformed();
    };
    let Ok(form) = read_form(&req, payload, state.max_body_bytes).await else {
        return malformed();
    };
    // Every form carries the CSRF token of the session it was rendered for.
    let session = current_session(&req, &state);
    let token_ok = session.as_ref().is_some_and(|s| {
        csrf::verify(
            &state.authorize.session_key,
            s,
            form.get(csrf::FIELD).unwrap_or_default(),
        )
    });
    if !token_ok {
        return csrf_refused();
    }
    let action = match (
        form.get("decision"),
        form.get("username"),
        form.get("password"),
    ) {
        (Some("allow"), _, _) => Action::Allow,
        (Some("deny"), _, _) => Action::Deny,
        (None, Some(username), Some(password)) => Action::Login {
            username: username.to_owned(),
            password: password.to_owned(),
        },
        (None, _, _) => Action::Login {
            username: form.get("username").unwrap_or_default().to_owned(),
            password: String::new(),
        },
        (Some(_), _, _) => return malformed(),
    };
    // As at the token endpoint: with no password-check permit free, a login is refused
    // before it waits for any blocking work.
    if matches!(action, Action::Login { .. }) && state.use_cases.authorize.admit_login().is_err() {
        return unavailable_page();
    }
    respond(&req, &state, params, session, action).await
}

/// `GET /callback`: only with `demo_callback` (the demo client's redirect URI points here).
pub async fn demo_callback(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    if !state.authorize.demo_callback {
        return crate::not_found().await;
    }
    let form = Form::parse(req.query_string().as_bytes()).unwrap_or_default();
    let error = form
        .get("error")
        .map(|e| (e, form.get("error_description").unwrap_or_default()));
    page(
        StatusCode::OK,
        pages::callback(form.get("code"), form.get("state"), error),
        None,
    )
}

async fn respond(
    req: &HttpRequest,
    state: &HttpState,
    params: AuthorizeParams,
    session: Option<Session>,
    action: Action,
) -> HttpResponse {
    let use_cases = state.use_cases.clone();
    let session_user = session.as_ref().and_then(Session::claim);
    let is_post = !matches!(action, Action::Show);
    let query = req.query_string().to_owned();
    let fresh = session.as_ref().is_some_and(|s| s.logged_in_for(&query));
    let address = source_address::of(req, &state.trusted_proxies);
    // The same bound on blocking work as every other endpoint (see `ops`).
    let outcome = match state
        .ops
        .blocking(move || {
            let authorize = &use_cases.authorize;
            decide(authorize, &params, session_user, action, address, fresh)
        })
        .await
    {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            log_store_failure(&e);
            unavailable()
        }
        Err(Busy) => unavailable(),
    };
    let view = View {
        state,
        self_url: format!("/oauth/authorize?{query}"),
        query,
        now: state.use_cases.ports().clock.now(),
        is_post,
    };
    view.render(outcome, session)
}

/// What rendering an outcome needs besides the outcome.
struct View<'a> {
    state: &'a HttpState,
    /// This request's URL: the forms post back to it.
    self_url: String,
    /// Its query: the authorization request.
    query: String,
    now: grantd_ports::UnixTime,
    is_post: bool,
}

impl View<'_> {
    /// Renders `outcome` for the browser that holds `session`.
    fn render(&self, outcome: Outcome, session: Option<Session>) -> HttpResponse {
        let pages_config = &self.state.authorize;
        let key = &pages_config.session_key;
        let secure = pages_config.secure_cookies;
        match outcome {
            Outcome::ErrorPage {
                status,
                title,
                message,
            } => page(status, pages::error(title, &message), None),
            Outcome::Redirect(location) => {
                let status = if self.is_post {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FOUND
                };
                HttpResponse::build(status)
                    .insert_header((header::LOCATION, location))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::REFERRER_POLICY, "no-referrer"))
                    .finish()
            }
            Outcome::Login {
                status,
                client_name,
                error,
                username_hint,
            } => {
                // A login form needs a session to carry its CSRF token; make one if absent.
                let (session, set_cookie) = match session {
                    Some(s) => (s, None),
                    None => {
                        let s = Session::anonymous(
                            self.state.use_cases.ports().minter.mint_id(),
                            self.now.saturating_add(pages_config.session_lifetime),
                        );
                        let cookie = s.cookie(key, pages_config.session_lifetime, secure);
                        (s, Some(cookie))
                    }
                };
                let html = pages::login(
                    &self.self_url,
                    &csrf::token(key, &session),
                    &client_name,
                    username_hint.as_deref(),
                    error.as_deref(),
                );
                page(status, html, set_cookie)
            }
            Outcome::Consent {
                client_name,
                username,
                scopes,
            } => {
                let Some(session) = session else {
                    return unavailable_page();
                };
                let html = pages::consent(
                    &self.self_url,
                    &csrf::token(key, &session),
                    &client_name,
                    &username,
                    &scopes,
                );
                page(StatusCode::OK, html, None)
            }
            Outcome::LoggedIn {
                user_id,
                username,
                stamp,
                auth_time,
            } => {
                let session = Session::signed_in(
                    self.state.use_cases.ports().minter.mint_id(),
                    self.now.saturating_add(pages_config.session_lifetime),
                    (&user_id, &username, &stamp),
                    auth_time,
                    Some(session::request_digest(&self.query)),
                );
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, self.self_url.clone()))
                    .insert_header((
                        header::SET_COOKIE,
                        session.cookie(key, pages_config.session_lifetime, secure),
                    ))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish()
            }
        }
    }
}

fn parse_params(query: &str) -> Result<AuthorizeParams, crate::FormError> {
    // §3.1: repeated parameters are refused, empty ones are omitted (Form does both).
    let form = Form::parse(query.as_bytes())?;
    let get = |name: &str| form.get(name).map(str::to_owned);
    Ok(AuthorizeParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
        // RFC 8707 §2.1: the one parameter that may be repeated.
        resource: form.all("resource").to_vec(),
        nonce: get("nonce"),
        prompt: get("prompt"),
        max_age: get("max_age"),
        login_hint: get("login_hint"),
        response_mode: get("response_mode"),
        request: get("request"),
        request_uri: get("request_uri"),
        registration: get("registration"),
        claims: get("claims"),
        dpop_jkt: get("dpop_jkt"),
    })
}

/// The first of our cookies that opens (signed by our key, not expired).
fn current_session(req: &HttpRequest, state: &HttpState) -> Option<Session> {
    let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
    let pages = &state.authorize;
    let now = state.use_cases.ports().clock.now();
    session::from_cookie_header(header, pages.secure_cookies)
        .find_map(|value| Session::open(value, &pages.session_key, now))
}

/// A form without the CSRF token of the session it claims (RFC 6749 §10.12).
fn csrf_refused() -> HttpResponse {
    tracing::info!(target: "grantd::security", event = "csrf_rejected", "authorization form without a valid CSRF token");
    page(
        StatusCode::FORBIDDEN,
        pages::error(
            "Please try again",
            "This form expired or did not come from this site. Go back, reload the page and try again.",
        ),
        None,
    )
}

fn unavailable_page() -> HttpResponse {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::error(
            "Please try again shortly",
            "The sign-in service is busy or unavailable right now.",
        ),
        None,
    )
}

fn malformed() -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        pages::error(
            "This sign-in link does not work",
            grantd_domain::authorize_request::PageError::Malformed.message(),
        ),
        None,
    )
}

/// An HTML page with the headers every page carries: no framing (clickjacking), no
/// caching, no referrer (the query may hold a code), and a CSP that allows our
/// stylesheet and nothing else. A 503 says when to retry, as the JSON endpoints do.
fn page(status: StatusCode, html: String, set_cookie: Option<String>) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
    if let Some(cookie) = set_cookie {
        builder.insert_header((header::SET_COOKIE, cookie));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        builder.insert_header((
            header::RETRY_AFTER,
            crate::errors::RETRY_AFTER_SECS.to_string(),
        ));
    }
    builder.body(html)
}
