//! bcrypt reads 72 bytes of a password at most, over real HTTP on SQLite and Postgres: a
//! password that matches a stored 72-byte one in its first 72 bytes but goes on is never
//! accepted (password grant or login page), and counts as a failed guess.

use crate::common::*;
use grantd_domain::accounts::{self, NewPassword};
use grantd_domain::TokenSettings;
use grantd_ports::{UserStore, Username};

fn password_grant(app: &TestApp, password: &str) -> (u16, serde_json::Value) {
    json(token_request(
        app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={password}"),
    ))
}

fn a_password_that_differs_after_byte_72_is_never_accepted(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let alice = app
        .db
        .find_user_by_username(&Username::parse("alice").unwrap())
        .unwrap()
        .unwrap();
    let exact = "p".repeat(72);
    accounts::change_password(&app.ports, &alice, &NewPassword::parse(&exact).unwrap()).unwrap();
    let (status, body) = password_grant(&app, &exact);
    assert_eq!(
        status, 200,
        "every one of the 72 bytes is the password: {body}"
    );
    for tail in ["x", "anything-at-all"] {
        let (status, body) = password_grant(&app, &format!("{exact}{tail}"));
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    // The two long guesses counted: eight more failures reach the limit of 10.
    for _ in 0..8 {
        assert_eq!(password_grant(&app, "wrong").0, 400);
    }
    assert_eq!(password_grant(&app, &exact).0, 429);
}

on_both_backends!(a_password_that_differs_after_byte_72_is_never_accepted);
