//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): what `GET /oauth/logout`
//! and its confirmation form may do. Two rules carry the security:
//!
//! - The browser goes back only to a `post_logout_redirect_uri` registered for the client
//!   the request names (§3: exact match), so the endpoint is never an open redirect.
//! - A cross-site GET must not sign anyone out silently: the session ends at once only
//!   when a verified `id_token_hint` names the session's own user (§2: the hint is "a hint
//!   about the End-User's current authenticated session"); anything else asks the user
//!   first, on a page whose form carries the session's CSRF token.
//!
//! The decisions are pure functions; [`LogoutEndpoint`] wraps them around the port calls.
//! Ending the session is `AuthorizeEndpoint::log_out`'s (a new stamp for the user).

use grantd_ports::{Client, ClientId, StoreError, User, UserId};

use crate::jwt_access::JwtAccessTokens;
use crate::{AuthorizeEndpoint, PortSet, SessionClaim};

/// The request's parameters (§2), as given; empty values count as absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// Where the browser goes after the logout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostLogout {
    /// No `post_logout_redirect_uri` was asked for: our signed-out page.
    Stay,
    /// One was asked for, but it is not registered for the named client (or no client is
    /// named): our page, never that address (§3).
    Refused,
    /// A registered address, with the request's `state` to append (§3).
    Redirect { uri: String, state: Option<String> },
}

/// Why a logout request is refused outright: an error page, and nothing ends.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// §2: the OP "MUST validate that it was the issuer of the ID Token".
    #[error("the id_token_hint is not an ID token issued by this server")]
    InvalidHint,
    /// §2: with both, `client_id` must be the hint's audience.
    #[error("client_id does not match the audience of the id_token_hint")]
    ClientMismatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to do with the login session (pure decision, [`session_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    /// No live session: nothing to end.
    NothingToEnd,
    /// The hint names the session's user: end it now.
    EndNow,
    /// Anything else: ask the user, with a CSRF-protected form.
    Confirm,
}

/// The outcome of a logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Nobody is signed in any more (`ended`: a live session was ended by this request).
    SignedOut { ended: bool, then: PostLogout },
    /// Ask `username` first. `client` and `then` are what the confirmation form carries
    /// (the POST checks the address again).
    Confirm {
        username: String,
        client: Option<(ClientId, String)>,
        then: PostLogout,
    },
}

/// The client the request names: the hint's audience, or `client_id`; with both they must
/// agree (§2). `None` when neither names one.
pub fn named_client<'a>(
    hint_audience: Option<&'a str>,
    client_id: Option<&'a str>,
) -> Result<Option<&'a str>, LogoutError> {
    match (hint_audience, client_id) {
        (Some(aud), Some(id)) if aud != id => Err(LogoutError::ClientMismatch),
        (Some(aud), _) => Ok(Some(aud)),
        (None, id) => Ok(id),
    }
}

/// Where to go afterwards (§3): only to an address registered for `client`, compared
/// exactly (no normalisation, as for redirect URIs, RFC 6749 §3.1.2.3).
pub fn post_logout(client: Option<&Client>, uri: Option<&str>, state: Option<&str>) -> PostLogout {
    let Some(uri) = uri else {
        return PostLogout::Stay;
    };
    match client {
        Some(c) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => PostLogout::Redirect {
            uri: uri.to_owned(),
            state: state.map(str::to_owned),
        },
        _ => PostLogout::Refused,
    }
}

/// Whether to end the session now: only when there is one and a verified hint names its
/// user (`hint_subject`, the id token's `sub`, is the user id).
pub fn session_action(session_user: Option<&UserId>, hint_subject: Option<&str>) -> SessionAction {
    match (session_user, hint_subject) {
        (None, _) => SessionAction::NothingToEnd,
        (Some(user), Some(sub)) if user.as_str() == sub => SessionAction::EndNow,
        (Some(_), _) => SessionAction::Confirm,
    }
}

/// The logout use case. Cheap to clone.
#[derive(Clone)]
pub struct LogoutEndpoint {
    ports: PortSet,
    authorize: AuthorizeEndpoint,
    /// The keys and issuer that verify an `id_token_hint`; `None` without signing keys
    /// (then no hint can verify).
    jwt: Option<JwtAccessTokens>,
}

impl LogoutEndpoint {
    pub(crate) fn new(
        ports: PortSet,
        authorize: AuthorizeEndpoint,
        jwt: Option<JwtAccessTokens>,
    ) -> Self {
        Self {
            ports,
            authorize,
            jwt,
        }
    }

    /// `GET /oauth/logout` from a browser whose session (if any) is `session`. Ends the
    /// session only as [`session_action`] allows. Blocking.
    pub fn request(
        &self,
        request: &LogoutRequest,
        session: Option<&SessionClaim>,
    ) -> Result<LogoutOutcome, LogoutError> {
        let hint = match request.id_token_hint.as_deref() {
            None => None,
            Some(hint) => {
                let Some(jwt) = &self.jwt else {
                    return Err(LogoutError::InvalidHint);
                };
                Some(
                    jwt.verify_id_token_hint(hint)?
                        .ok_or(LogoutError::InvalidHint)?,
                )
            }
        };
        let client_id = named_client(
            hint.as_ref().map(|h| h.aud.as_str()),
            request.client_id.as_deref(),
        )?;
        let client = self.find_client(client_id)?;
        let then = post_logout(
            client.as_ref(),
            request.post_logout_redirect_uri.as_deref(),
            request.state.as_deref(),
        );
        let user = self.session_user(session)?;
        let action = session_action(
            user.as_ref().map(|u| &u.id),
            hint.as_ref().map(|h| h.sub.as_str()),
        );
        match (action, session, user) {
            (SessionAction::EndNow, Some(claim), _) => Ok(LogoutOutcome::SignedOut {
                ended: self.authorize.log_out(claim)?,
                then,
            }),
            (SessionAction::Confirm, _, Some(user)) => Ok(LogoutOutcome::Confirm {
                username: user.username.as_str().to_owned(),
                client: client.map(|c| (c.id, c.name)),
                then,
            }),
            _ => Ok(LogoutOutcome::SignedOut { ended: false, then }),
        }
    }

    /// The confirmation form's POST (its CSRF token already checked by the caller, and
    /// the old sign-out link's too): ends the session and says where to go, the address
    /// checked against `client_id`'s registrations again. Blocking.
    pub fn confirm(
        &self,
        session: Option<&SessionClaim>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<LogoutOutcome, StoreError> {
        let client = self.find_client(client_id)?;
        let then = post_logout(client.as_ref(), post_logout_redirect_uri, state);
        let ended = match session {
            Some(claim) => self.authorize.log_out(claim)?,
            None => false,
        };
        Ok(LogoutOutcome::SignedOut { ended, then })
    }

    /// A malformed id names no client.
    fn find_client(&self, id: Option<&str>) -> Result<Option<Client>, StoreError> {
        match id.map(ClientId::parse) {
            Some(Ok(id)) => self.ports.clients.find_client(&id),
            _ => Ok(None),
        }
    }

    fn session_user(&self, session: Option<&SessionClaim>) -> Result<Option<User>, StoreError> {
        match session {
            Some(claim) => self.authorize.session_user(claim),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[path = "rp_logout_tests.rs"]
mod tests;
