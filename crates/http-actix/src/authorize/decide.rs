//! The blocking part of the authorization endpoint: every decision is the domain's
//! (`AuthorizeEndpoint`); this only turns it into what the async side renders. A login
//! posted with the form is answered with a redirect back to the same request (so a reload
//! posts nothing twice); the new session remembers which request it logged in for, and
//! that request then counts as freshly authenticated, so `prompt=login` and `max_age` are
//! satisfied by that very login rather than asked again.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use grantd_domain::authorize_request::{AuthorizationRequest, AuthorizeError, AuthorizeParams};
use grantd_domain::oidc_request::SignedIn;
use grantd_domain::{
    AuthorizeEndpoint, AuthorizeFailure, Interaction, LoginError, ScopePrompt, SessionClaim,
};
use grantd_ports::{SessionStamp, StoreError, UnixTime, User, UserId, Username};

use super::redirect::{code_location, error_location};

/// What the user asked for with this request.
pub(super) enum Action {
    Show,
    Login { username: String, password: String },
    Allow,
    Deny,
}

/// What the domain decided, for the async side to render.
pub(super) enum Outcome {
    ErrorPage {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    /// Back to the client (§4.1.2, §4.1.2.1).
    Redirect(String),
    Login {
        status: StatusCode,
        client_name: String,
        error: Option<String>,
        /// The username to offer (`login_hint`, or the signed-in user's when asked again).
        username_hint: Option<String>,
    },
    Consent {
        client_name: String,
        username: String,
        /// Each requested scope with its description, in the domain's order.
        scopes: Vec<ScopePrompt>,
    },
    /// The login form was right: a new session for this user, and back to the request.
    LoggedIn {
        user_id: UserId,
        username: Username,
        stamp: SessionStamp,
        auth_time: UnixTime,
    },
}

pub(super) fn unavailable() -> Outcome {
    Outcome::ErrorPage {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Please try again shortly",
        message: "The sign-in service is busy or unavailable right now.".into(),
    }
}

/// Decides one request. A storage failure ends it, and becomes the one "try again
/// shortly" page.
pub(super) fn decide(
    authorize: &AuthorizeEndpoint,
    params: &AuthorizeParams,
    session_user: Option<SessionClaim>,
    action: Action,
    address: IpAddr,
    logged_in_for_this_request: bool,
) -> Result<Outcome, StoreError> {
    let request = match authorize.check_authorization_request(params) {
        Ok(request) => request,
        Err(AuthorizeFailure::Invalid(AuthorizeError::Page(e))) => {
            return Ok(Outcome::ErrorPage {
                status: StatusCode::BAD_REQUEST,
                title: "This sign-in link does not work",
                message: e.message().to_owned(),
            })
        }
        Err(AuthorizeFailure::Invalid(AuthorizeError::Redirect(r))) => {
            return Ok(Outcome::Redirect(error_location(&r)))
        }
        Err(AuthorizeFailure::Store(e)) => return Err(e),
    };

    if let Action::Login { username, password } = &action {
        return log_in(authorize, &request, username, password, address);
    }

    let user = match &session_user {
        Some(claim) => authorize.session_user(claim)?,
        None => None,
    };
    let (Some(user), Some(claim)) = (user, session_user) else {
        if matches!(action, Action::Show) {
            return proceed(authorize, &request, None);
        }
        return Ok(login_page(
            &request,
            StatusCode::OK,
            Some("Your sign-in has expired. Please sign in again.".into()),
        ));
    };
    match action {
        Action::Deny => Ok(Outcome::Redirect(error_location(&authorize.deny(&request)))),
        // The consent page was shown because the rules asked for it; its answer stands.
        Action::Allow => approve(authorize, &request, &user, claim.auth_time),
        Action::Show | Action::Login { .. } => {
            let signed_in = SignedIn {
                auth_time: claim.auth_time,
                just_now: logged_in_for_this_request,
            };
            proceed(authorize, &request, Some((&user, signed_in)))
        }
    }
}

fn log_in(
    authorize: &AuthorizeEndpoint,
    request: &AuthorizationRequest,
    username: &str,
    password: &str,
    address: IpAddr,
) -> Result<Outcome, StoreError> {
    let refused = |status, error: String| Ok(login_page(request, status, Some(error)));
    match authorize.log_in(username, password, address) {
        Ok(user) => {
            tracing::info!(client_id = %request.client.id, username = %user.username, "user logged in");
            Ok(Outcome::LoggedIn {
                user_id: user.id,
                username: user.username,
                stamp: user.session_stamp,
                auth_time: authorize.now(),
            })
        }
        Err(LoginError::BadCredentials) => refused(
            StatusCode::UNAUTHORIZED,
            "The username or password is not right. Please try again.".into(),
        ),
        Err(LoginError::TooManyAttempts { retry_after }) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many failed sign-ins. Please wait {retry_after} seconds and try again."),
        ),
        // Every password-check permit is taken: "try again shortly", not a failure.
        Err(LoginError::Busy(_)) => Ok(unavailable()),
        Err(LoginError::Store(e)) => Err(e),
    }
}

/// The page or redirect the domain's rules (prompt, max_age, consent) call for.
fn proceed(
    authorize: &AuthorizeEndpoint,
    request: &AuthorizationRequest,
    session: Option<(&User, SignedIn)>,
) -> Result<Outcome, StoreError> {
    Ok(match authorize.next_interaction(session, request)? {
        Interaction::Login => {
            let mut page = login_page(request, StatusCode::OK, None);
            if let (Outcome::Login { username_hint, .. }, Some((user, _))) = (&mut page, session) {
                username_hint.get_or_insert_with(|| user.username.as_str().to_owned());
            }
            page
        }
        Interaction::Consent(scopes) => Outcome::Consent {
            client_name: request.client.name.clone(),
            username: session.map_or_else(String::new, |(u, _)| u.username.as_str().to_owned()),
            scopes,
        },
        Interaction::Approve => match session {
            Some((user, signed_in)) => approve(authorize, request, user, signed_in.auth_time)?,
            None => login_page(request, StatusCode::OK, None),
        },
        Interaction::Refuse(redirect) => Outcome::Redirect(error_location(&redirect)),
    })
}

fn approve(
    authorize: &AuthorizeEndpoint,
    request: &AuthorizationRequest,
    user: &User,
    auth_time: Option<UnixTime>,
) -> Result<Outcome, StoreError> {
    let redirect = authorize.approve(user, auth_time, request)?;
    tracing::info!(client_id = %request.client.id, username = %user.username, "authorization code issued");
    Ok(Outcome::Redirect(code_location(&redirect)))
}

fn login_page(
    request: &AuthorizationRequest,
    status: StatusCode,
    error: Option<String>,
) -> Outcome {
    Outcome::Login {
        status,
        client_name: request.client.name.clone(),
        error,
        username_hint: request.oidc.login_hint.clone(),
    }
}
