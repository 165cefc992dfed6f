//! `GET /oauth/logout?id_token_hint&post_logout_redirect_uri&state&client_id`: OpenID
//! Connect RP-Initiated Logout 1.0 (§2). A GET is what any page can make a browser send,
//! so what it may do is the domain's careful decision (`LogoutEndpoint::request`): end the
//! session at once only for a verified hint naming the signed-in user, else ask on a
//! confirmation page whose form (with the session's CSRF token) posts to `logout`; go back
//! only to a registered address. A bad hint or a client mismatch is an error page, and
//! ends nothing.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::{LogoutError, LogoutOutcome, LogoutRequest, PostLogout};

use crate::errors::log_store_failure;
use crate::form::Form;
use crate::ops::Busy;
use crate::HttpState;

use super::logout::{log_ended, signed_out_then, still_signed_in};
use super::pages::LogoutReturn;
use super::session::Session;
use super::{csrf, current_session, page, pages, unavailable_page};

/// `GET /oauth/logout`.
pub async fn rp_logout(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    // As at the authorization endpoint: a repeated parameter is refused, an empty one
    // counts as absent.
    let Ok(form) = Form::parse(req.query_string().as_bytes()) else {
        return bad_link("The sign-out link is malformed: a parameter is repeated or not UTF-8.");
    };
    let get = |name: &str| form.get(name).map(str::to_owned);
    let request = LogoutRequest {
        id_token_hint: get("id_token_hint"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        client_id: get("client_id"),
    };
    let session = current_session(&req, &state);
    let claim = session.as_ref().and_then(Session::claim);
    let use_cases = state.use_cases.clone();
    let outcome = match state
        .ops
        .blocking(move || use_cases.logout.request(&request, claim.as_ref()))
        .await
    {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(LogoutError::Store(e))) => {
            log_store_failure(&e);
            return still_signed_in();
        }
        Ok(Err(e)) => {
            tracing::info!(target: "grantd::security", event = "logout_refused", reason = %e, "RP-initiated logout refused");
            return bad_link(match e {
                LogoutError::InvalidHint => {
                    "The id_token_hint is not an ID token issued by this server. Nothing was changed."
                }
                _ => "The client_id does not match the application the ID token was issued to. Nothing was changed.",
            });
        }
        Err(Busy) => return still_signed_in(),
    };
    match outcome {
        LogoutOutcome::SignedOut { ended, then } => {
            log_ended(ended);
            signed_out_then(&state, StatusCode::FOUND, then)
        }
        LogoutOutcome::Confirm {
            username,
            client,
            then,
        } => {
            // The domain asks only when a live session exists, so there is one here.
            let Some(session) = session else {
                return unavailable_page();
            };
            let client_id = client.as_ref().map(|(id, _)| id.as_str());
            let back = match (&then, client_id) {
                (PostLogout::Redirect { uri, state }, Some(client_id)) => Some(LogoutReturn {
                    client_id,
                    post_logout_redirect_uri: uri,
                    state: state.as_deref(),
                }),
                _ => None,
            };
            let html = pages::logout_confirm(
                &csrf::token(&state.authorize.session_key, &session),
                &username,
                client.as_ref().map(|(_, name)| name.as_str()),
                back.as_ref(),
            );
            page(StatusCode::OK, html, None)
        }
    }
}

/// A sign-out link that cannot be followed: an error page, never a redirect.
fn bad_link(message: &str) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        pages::error("This sign-out link does not work", message),
        None,
    )
}
