//! `POST /oauth/logout`: ends the login session of the authorization pages. The form
//! carries the session's CSRF token, like every other form of these pages: `SameSite=Lax`
//! alone keeps the cookie off cross-site POSTs in current browsers only, and still lets a
//! sibling host of the same site post one, and an `Origin` check fails open where the
//! header is missing; a token only this session's pages could have rendered holds in
//! every browser. The session's end itself is the domain's (`AuthorizeEndpoint::log_out`:
//! a new stamp for the user, which ends every session of theirs), so that the
//! RP-initiated logout of OpenID Connect can reuse it with [`end_session`].

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::body::read_form;
use crate::errors::log_store_failure;
use crate::ops::Busy;
use crate::HttpState;

use super::session::{self, Session};
use super::{csrf, csrf_refused, current_session, malformed, page, pages};

/// Where a sign-out may send the browser back to: our own authorization endpoint (so that
/// it asks for a login again), as a path. Anything else would make this an open redirect.
const RETURN_PREFIX: &str = "/oauth/authorize?";

/// `POST /oauth/logout`, form fields `csrf_token` and, optionally, `return_to`.
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
    if end_session(&state, session.as_ref()).await.is_err() {
        // The cookie stays, so the person can try again; the page says they are still in.
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::error(
                "Please try again shortly",
                "The sign-in service is busy or unavailable right now, and you are still signed in.",
            ),
            None,
        );
    }
    let removal = session::removal_cookie(state.authorize.secure_cookies);
    match form.get("return_to").filter(|to| is_return_path(to)) {
        Some(to) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to.to_owned()))
            .insert_header((header::SET_COOKIE, removal))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .finish(),
        None => page(StatusCode::OK, pages::signed_out(), Some(removal)),
    }
}

/// The store could not be reached (or the blocking work was full): the session goes on.
#[derive(Debug)]
pub(crate) struct NotEnded;

/// Ends the session (if it names a live login) in one bounded blocking hop. `Err` when the
/// store could not be reached: the session is then not ended, and the caller must not
/// remove the cookie as if it were.
pub(crate) async fn end_session(
    state: &HttpState,
    session: Option<&Session>,
) -> Result<(), NotEnded> {
    let Some(claim) = session.and_then(Session::claim) else {
        return Ok(());
    };
    let use_cases = state.use_cases.clone();
    match state
        .ops
        .blocking(move || use_cases.authorize.log_out(&claim))
        .await
    {
        Ok(Ok(ended)) => {
            if ended {
                tracing::info!(target: "grantd::security", event = "logout", "login session ended");
            }
            Ok(())
        }
        Ok(Err(e)) => {
            log_store_failure(&e);
            Err(NotEnded)
        }
        Err(Busy) => Err(NotEnded),
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
