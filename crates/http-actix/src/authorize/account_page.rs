//! The account page's markup (maud, like the other pages; no scripts): the applications
//! that hold a live grant for the signed-in person, each with a Revoke button, and the
//! "sign out everywhere" and "forget remembered consents" forms. Every form posts to
//! `/account` with the session's CSRF token.

use grantd_domain::AccountGrant;
use grantd_ports::UnixTime;
use maud::{html, Markup};

use super::{csrf, pages};

/// `UnixTime` as a UTC date and time a person reads (`2026-12-02 04:10 UTC`).
fn when(at: UnixTime) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => at.to_string(),
    }
}

fn application(csrf_token: &str, app: &AccountGrant) -> Markup {
    html! {
        li.application {
            h2 { (app.client_name) }
            p { "Can:" }
            ul.scopes {
                @for (name, description) in &app.scopes {
                    li { (description) " " span.muted { "(" code { (name) } ")" } }
                }
            }
            p.muted {
                "Access given " (when(app.granted_at)) "; "
                @match app.last_refreshed_at {
                    Some(at) => { "last refreshed " (when(at)) }
                    None => { "not refreshed since" }
                }
                "; "
                @match app.ends_at {
                    Some(at) => { "ends at the latest " (when(at)) "." }
                    None => { "no end date." }
                }
            }
            form method="post" action="/account" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                input type="hidden" name="grant" value=(app.grant_id.as_str());
                button.secondary type="submit" name="action" value="revoke" { "Revoke" }
            }
        }
    }
}

/// The page for `username`, with an optional notice of what was just done.
pub fn account(
    csrf_token: &str,
    username: &str,
    apps: &[AccountGrant],
    notice: Option<&str>,
) -> String {
    pages::layout(
        "Your account",
        html! {
            h1 { "Your account" }
            p.lead { "Signed in as " strong { (username) } "." }
            @if let Some(notice) = notice {
                p.notice role="status" { (notice) }
            }
            h2 { "Applications with access" }
            @if apps.is_empty() {
                p { "No application holds access to your account." }
            } @else {
                ul.applications {
                    @for app in apps { (application(csrf_token, app)) }
                }
            }
            form method="post" action="/account" {
                input type="hidden" name=(csrf::FIELD) value=(csrf_token);
                div.actions {
                    button.secondary type="submit" name="action" value="forget_consents" {
                        "Forget the permissions I gave"
                    }
                    button.primary type="submit" name="action" value="sign_out_everywhere" {
                        "Sign out everywhere"
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_796_183_304), "2026-12-02 03:48 UTC");
        assert_eq!(when(951_782_400), "2000-02-29 00:00 UTC");
    }
}
