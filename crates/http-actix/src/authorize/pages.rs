//! The authorization pages as maud templates: login, consent (with its sign-out form),
//! the sign-out confirmation, signed out, error, and the demo's callback. Plain HTML and one stylesheet; no scripts. Every field has a label, the
//! viewport is set for phones, and every form carries its CSRF token in a hidden field.

use grantd_domain::ScopePrompt;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::csrf;

/// The page frame every page shares (also the account page's, in `account_page`).
pub(super) fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · grantd" }
                link rel="stylesheet" href="/assets/grantd.css";
            }
            body {
                main {
                    p.brand { "grantd" }
                    (body)
                }
            }
        }
    }
    .into_string()
}

/// The login page. `action` is this request's own URL (the authorization request rides in
/// its query string).
pub fn login(
    action: &str,
    csrf_token: &str,
    client_name: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> String {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.lead { "to continue to " strong { (client_name) } }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action=(action) {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                label for="username" { "Username" }
                input #username type="text" name="username" value=[username] autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                div.actions {
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// The consent page: who asks, for what (each scope's description from the registry, and
/// whether this user already allowed it to this client), and Allow / Deny.
pub fn consent(
    action: &str,
    csrf_token: &str,
    client_name: &str,
    username: &str,
    scopes: &[ScopePrompt],
) -> String {
    layout(
        "Allow access?",
        html! {
            h1 { "Allow " (client_name) " to access your account?" }
            p.lead { "Signed in as " strong { (username) } "." }
            @if scopes.is_empty() {
                p { (client_name) " asks for no particular permissions." }
            } @else {
                p { (client_name) " asks to:" }
                ul.scopes {
                    @for scope in scopes {
                        li class=[scope.already_granted.then_some("granted")] {
                            (scope.description) " "
                            span.muted { "(" code { (scope.scope) } ")" }
                            @if scope.already_granted {
                                " " span.badge { "already granted" }
                            }
                        }
                    }
                }
            }
            form method="post" action=(action) {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                div.actions {
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                    button.primary type="submit" name="decision" value="allow" { "Allow" }
                }
            }
            p.muted { "You can take this back later; your administrator can revoke it." }
            // Sign out, then back here: the login page asks again (another account).
            form.signout method="post" action="/oauth/logout" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                input type="hidden" name="return_to" value=(action);
                p.muted { "Not " (username) "? " button.link type="submit" { "Sign out" } }
            }
        },
    )
}

/// After `POST /oauth/logout` without a page to return to.
pub fn signed_out() -> String {
    signed_out_page(None)
}

/// Signed out, but the application asked to send the browser to an address it has not
/// registered (RP-Initiated Logout §3): we stay here and say why.
pub fn signed_out_not_returned() -> String {
    signed_out_page(Some(
        "The application asked to send you to an address it has not registered, so you stay on this page.",
    ))
}

fn signed_out_page(notice: Option<&str>) -> String {
    layout(
        "Signed out",
        html! {
            h1 { "You are signed out" }
            p { "Your sign-in on this server has ended, on this device and on every other one." }
            @if let Some(notice) = notice {
                p.error role="alert" { (notice) }
            }
            p.muted { "To continue to an application, go back to it and start again." }
        },
    )
}

/// Where the confirmed sign-out goes on to, carried by the confirmation form (the POST
/// checks the address against the client's registrations again).
pub struct LogoutReturn<'a> {
    pub client_id: &'a str,
    pub post_logout_redirect_uri: &'a str,
    pub state: Option<&'a str>,
}

/// RP-initiated logout without proof that the signed-in user asked for it (no
/// `id_token_hint` of theirs): ask, with a form that carries the session's CSRF token.
pub fn logout_confirm(
    csrf_token: &str,
    username: &str,
    client_name: Option<&str>,
    then: Option<&LogoutReturn<'_>>,
) -> String {
    layout(
        "Sign out?",
        html! {
            h1 { "Sign out?" }
            p.lead {
                @if let Some(client_name) = client_name {
                    strong { (client_name) } " asks to end your sign-in on this server."
                } @else {
                    "A page asks to end your sign-in on this server."
                }
            }
            p { "Signed in as " strong { (username) } ". Signing out ends your sign-in on this device and on every other one." }
            form method="post" action="/oauth/logout" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                @if let Some(then) = then {
                    input type="hidden" name="client_id" value=(then.client_id);
                    input type="hidden" name="post_logout_redirect_uri" value=(then.post_logout_redirect_uri);
                    @if let Some(state) = then.state {
                        input type="hidden" name="state" value=(state);
                    }
                }
                div.actions {
                    button.primary type="submit" { "Sign out" }
                }
            }
            p.muted { "If you did not ask to sign out, close this page: you stay signed in." }
        },
    )
}

/// An error a person reads; never redirected anywhere.
pub fn error(title: &str, message: &str) -> String {
    layout(
        title,
        html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p.muted { "If you followed a link from an application, go back to it and start again." }
        },
    )
}

/// The demo's `/callback`: shows what the authorization server sent back.
pub fn callback(code: Option<&str>, state: Option<&str>, error: Option<(&str, &str)>) -> String {
    layout(
        "Authorization result",
        html! {
            @if let Some((error, description)) = error {
                h1 { "Authorization refused" }
                p.error role="alert" { code { (error) } ": " (description) }
            } @else if let Some(code) = code {
                h1 { "Authorization code" }
                p { "Exchange it at the token endpoint within its lifetime (60 seconds by default):" }
                p.code #code { (code) }
            } @else {
                h1 { "Nothing to show" }
                p { "This page shows the code an authorization returns." }
            }
            @if let Some(state) = state {
                p.muted { "state: " code { (state) } }
            }
            (PreEscaped(""))
        },
    )
}
