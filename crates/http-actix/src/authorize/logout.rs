//! `POST /oauth/logout`: ends the login session of the authorization pages, from the
//! consent page's sign-out link or from the confirmation page of an RP-initiated logout
//! (`rp_logout`). The form carries the session's CSRF token, like every other form of
//! these pages: `SameSite=Lax` alone keeps the cookie off cross-site POSTs in current
//! browsers only, and still lets a sibling host of the same site post one, and an `Origin`
//! check fails open where the header is missing; a token only this session's pages could
//! have rendered holds in every browser. The session's end itself, and where the browser
//! may go afterwards, are the domain's (`LogoutEndpoint::confirm`: a new stamp for the
//! user, which ends every session of theirs; only a registered post-logout address).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::{LogoutOutcome, PostLogout};

use crate::body::read_form;
use crate::errors::log_store_failure;
use crate::ops::Busy;
use crate::HttpState;

use super::redirect::post_logout_location;
use super::session::{self, Session};
use super::{csrf, csrf_refused, current_session, malformed, page, pages};

/// Where a sign-out may send the browser back to: our own authorization endpoint (so that
/// it asks for a login again), as a path. Anything else would make this an open redirect.
const RETURN_PREFIX: &str = "/oauth/authorize?";

/// `POST /oauth/logout`, form fields `csrf_token` and, optionally, `return_to` (the
/// consent page's link) or `client_id`, `post_logout_redirect_uri` and `state` (the
/// RP-initiated logout's confirmation).
pub async fn logout(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let Ok(form) = read_form(&req, payload, state.max_body_bytes).await else {
        return malformed();
    };
    let session = current_session(&req, &state);
    if let Some(session) = &session {
        if !csrf::verify(
            &state.authorize.session_key,
            session,
            form.get(csrf::FIELD).unwrap_or_default(),
        ) {
            return csrf_refused();
        }
    }
    // No session that opens: nobody is signed in here, there is nothing to end, and
    // removing a cookie that does not open harms no one; so no token is asked for.
    let claim = session.as_ref().and_then(Session::claim);
    let owned = |name: &str| form.get(name).map(str::to_owned);
    let (client_id, uri, rp_state) = (
        owned("client_id"),
        owned("post_logout_redirect_uri"),
        owned("state"),
    );
    let use_cases = state.use_cases.clone();
    let outcome = state
        .ops
        .blocking(move || {
            use_cases.logout.confirm(
                claim.as_ref(),
                client_id.as_deref(),
                uri.as_deref(),
                rp_state.as_deref(),
            )
        })
        .await;
    let then = match outcome {
        Ok(Ok(LogoutOutcome::SignedOut { ended, then })) => {
            log_ended(ended);
            then
        }
        // `confirm` always signs out; a `Confirm` would be a bug, and ends nothing.
        Ok(Ok(LogoutOutcome::Confirm { .. })) | Err(Busy) => return still_signed_in(),
        Ok(Err(e)) => {
            log_store_failure(&e);
            return still_signed_in();
        }
    };
    let return_to = form.get("return_to").filter(|to| is_return_path(to));
    match (then, return_to) {
        (PostLogout::Stay, Some(to)) => {
            signed_out(&state, StatusCode::SEE_OTHER, Some(to.to_owned()), false)
        }
        (then, _) => signed_out_then(&state, StatusCode::SEE_OTHER, then),
    }
}

/// Records a session this request ended.
pub(super) fn log_ended(ended: bool) {
    if ended {
        tracing::info!(target: "grantd::security", event = "logout", "login session ended");
    }
}

/// The store could not be reached (or the blocking work was full): the cookie stays, so
/// the person can try again; the page says they are still in.
pub(super) fn still_signed_in() -> HttpResponse {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::error(
            "Please try again shortly",
            "The sign-in service is busy or unavailable right now, and you are still signed in.",
        ),
        None,
    )
}

/// The answer once nobody is signed in: the registered address (with `state`), or our
/// signed-out page (saying so if an unregistered address was refused). The cookie is
/// removed either way. `redirect` is the status of a redirect (302 for a GET, 303 after
/// a POST).
pub(super) fn signed_out_then(
    state: &HttpState,
    redirect: StatusCode,
    then: PostLogout,
) -> HttpResponse {
    match then {
        PostLogout::Redirect {
            uri,
            state: rp_state,
        } => signed_out(
            state,
            redirect,
            Some(post_logout_location(&uri, rp_state.as_deref())),
            false,
        ),
        PostLogout::Stay => signed_out(state, redirect, None, false),
        PostLogout::Refused => signed_out(state, redirect, None, true),
    }
}

fn signed_out(
    state: &HttpState,
    redirect: StatusCode,
    location: Option<String>,
    refused: bool,
) -> HttpResponse {
    let removal = session::removal_cookie(state.authorize.secure_cookies);
    match location {
        Some(to) => HttpResponse::build(redirect)
            .insert_header((header::LOCATION, to))
            .insert_header((header::SET_COOKIE, removal))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .finish(),
        None if refused => page(
            StatusCode::OK,
            pages::signed_out_not_returned(),
            Some(removal),
        ),
        None => page(StatusCode::OK, pages::signed_out(), Some(removal)),
    }
}

/// A local path to the authorization endpoint, in visible ASCII only (a header value; no
/// `\` or `//` can make a browser read it as another host, as it starts with `/oauth/`).
fn is_return_path(to: &str) -> bool {
    to.starts_with(RETURN_PREFIX) && to.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_authorization_endpoint_is_a_return_path() {
        assert!(is_return_path("/oauth/authorize?client_id=web&state=x"));
        for bad in [
            "https://evil.example/oauth/authorize?",
            "//evil.example/oauth/authorize?",
            "/oauth/authorize",
            "/oauth/token?x=1",
            "/oauth/authorize?x=1\r\nSet-Cookie: a=b",
            "/oauth/authorize?x= 1",
            "",
        ] {
            assert!(!is_return_path(bad), "{bad:?}");
        }
    }
}
