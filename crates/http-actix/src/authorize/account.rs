//! `GET`/`POST /account`: the account page, signed in through the same login (and the
//! same session cookie, budgets and CSRF tokens) as the authorization pages. `GET` shows
//! the login form or the page; `POST` takes the login form, or one of the page's actions
//! (`revoke` with a `grant` id, `sign_out_everywhere`, `forget_consents`), each with the
//! session's CSRF token. Every decision is the domain's (`AccountPage`, `AuthorizeEndpoint`);
//! this only parses, renders and sets the cookie.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::{AccountGrant, LoginError, SessionClaim};
use grantd_ports::{StoreError, User};

use crate::body::read_form;
use crate::errors::log_store_failure;
use crate::ops::Busy;
use crate::{source_address, HttpState};

use super::session::Session;
use super::{account_page, csrf, csrf_refused, current_session, malformed, page, pages};
use super::{unavailable_page, AuthorizePages};

const SELF: &str = "/account";

/// What the blocking part decided.
enum Shown {
    /// Nobody (or nobody valid) is signed in: the login form, with this message.
    Login {
        status: StatusCode,
        error: Option<String>,
    },
    Page {
        username: String,
        apps: Vec<AccountGrant>,
        notice: Option<&'static str>,
    },
    /// Logged in just now: a new session for this user, then back to the page.
    LoggedIn(Box<User>),
    /// The session was ended (sign out everywhere): the cookie goes too.
    SignedOut,
    Unavailable,
}

/// `GET /account`.
pub async fn account_get(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    let session = current_session(&req, &state);
    let claim = session.as_ref().and_then(Session::claim);
    let use_cases = state.use_cases.clone();
    let shown = blocking(&state, move || match signed_in(&use_cases, claim)? {
        Some(user) => listing(&use_cases, &user, None),
        None => Ok(Shown::Login {
            status: StatusCode::OK,
            error: None,
        }),
    })
    .await;
    render(&state, session, shown)
}

/// `POST /account`.
pub async fn account_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let Ok(form) = read_form(&req, payload, state.max_body_bytes).await else {
        return malformed();
    };
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
    let claim = session.as_ref().and_then(Session::claim);
    let use_cases = state.use_cases.clone();
    let owned = |name: &str| form.get(name).unwrap_or_default().to_owned();
    let (action, grant) = (owned("action"), owned("grant"));
    let (username, password) = (owned("username"), owned("password"));
    if action.is_empty() {
        // The login form: the same permits and budgets as the authorization pages.
        if use_cases.authorize.admit_login().is_err() {
            return unavailable_page();
        }
        let address = source_address::of(&req, &state.trusted_proxies);
        let shown = blocking(&state, move || {
            match use_cases.authorize.log_in(&username, &password, address) {
                Ok(user) => Ok(Shown::LoggedIn(Box::new(user))),
                Err(LoginError::BadCredentials) => Ok(Shown::Login {
                    status: StatusCode::UNAUTHORIZED,
                    error: Some("The username or password is not right. Please try again.".into()),
                }),
                Err(LoginError::TooManyAttempts { retry_after }) => Ok(Shown::Login {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    error: Some(format!(
                        "Too many failed sign-ins. Please wait {retry_after} seconds and try again."
                    )),
                }),
                Err(LoginError::Busy(_)) => Ok(Shown::Unavailable),
                Err(LoginError::Store(e)) => Err(e),
            }
        })
        .await;
        return render(&state, session, shown);
    }
    let shown = blocking(&state, move || {
        let Some(user) = signed_in(&use_cases, claim)? else {
            return Ok(Shown::Login {
                status: StatusCode::OK,
                error: Some("Your sign-in has expired. Please sign in again.".into()),
            });
        };
        let account = &use_cases.account;
        let notice = match action.as_str() {
            "revoke" if account.revoke(&user, &grant)? => "Access revoked.",
            "revoke" => "That application no longer holds access.",
            "forget_consents" => {
                account.forget_consents(&user)?;
                "Applications will ask for your permission again."
            }
            "sign_out_everywhere" => {
                account.sign_out_everywhere(&user)?;
                return Ok(Shown::SignedOut);
            }
            _ => "Nothing was changed.",
        };
        listing(&use_cases, &user, Some(notice))
    })
    .await;
    render(&state, session, shown)
}

fn signed_in(
    use_cases: &grantd_domain::UseCases,
    claim: Option<SessionClaim>,
) -> Result<Option<User>, StoreError> {
    match claim {
        Some(claim) => use_cases.authorize.session_user(&claim),
        None => Ok(None),
    }
}

fn listing(
    use_cases: &grantd_domain::UseCases,
    user: &User,
    notice: Option<&'static str>,
) -> Result<Shown, StoreError> {
    Ok(Shown::Page {
        username: user.username.as_str().to_owned(),
        apps: use_cases.account.applications(user)?,
        notice,
    })
}

/// One blocking hop, bounded like every other; a store failure is the "try again" page.
async fn blocking(
    state: &HttpState,
    work: impl FnOnce() -> Result<Shown, StoreError> + Send + 'static,
) -> Shown {
    match state.ops.blocking(work).await {
        Ok(Ok(shown)) => shown,
        Ok(Err(e)) => {
            log_store_failure(&e);
            Shown::Unavailable
        }
        Err(Busy) => Shown::Unavailable,
    }
}

/// A new session: for `user` who just logged in, or with nobody signed in (a login form).
fn fresh_session(state: &HttpState, pages_config: &AuthorizePages, user: Option<&User>) -> Session {
    let now = state.use_cases.ports().clock.now();
    let nonce = state.use_cases.ports().minter.mint_id();
    let expires_at = now.saturating_add(pages_config.session_lifetime);
    match user {
        Some(u) => Session::signed_in(
            nonce,
            expires_at,
            (&u.id, &u.username, &u.session_stamp),
            now,
            None,
        ),
        None => Session::anonymous(nonce, expires_at),
    }
}

fn render(state: &HttpState, session: Option<Session>, shown: Shown) -> HttpResponse {
    let pages_config = &state.authorize;
    let key = &pages_config.session_key;
    let (lifetime, secure) = (pages_config.session_lifetime, pages_config.secure_cookies);
    match shown {
        Shown::Unavailable => unavailable_page(),
        Shown::Login { status, error } => {
            let (session, cookie) = match session {
                Some(s) => (s, None),
                None => {
                    let s = fresh_session(state, pages_config, None);
                    let cookie = s.cookie(key, lifetime, secure);
                    (s, Some(cookie))
                }
            };
            let html = pages::login(
                SELF,
                &csrf::token(key, &session),
                "your account",
                None,
                error.as_deref(),
            );
            page(status, html, cookie)
        }
        Shown::Page {
            username,
            apps,
            notice,
        } => {
            let Some(session) = session else {
                return unavailable_page();
            };
            let html = account_page::account(&csrf::token(key, &session), &username, &apps, notice);
            page(StatusCode::OK, html, None)
        }
        Shown::LoggedIn(user) => {
            tracing::info!(username = %user.username, "user logged in to the account page");
            let session = fresh_session(state, pages_config, Some(&user));
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, SELF))
                .insert_header((header::SET_COOKIE, session.cookie(key, lifetime, secure)))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Shown::SignedOut => page(
            StatusCode::OK,
            pages::signed_out(),
            Some(super::session::removal_cookie(secure)),
        ),
    }
}
