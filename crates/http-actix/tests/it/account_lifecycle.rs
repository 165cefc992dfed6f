//! Lifecycle events over real HTTP, on SQLite and on Postgres: disabling or deleting a user,
//! or changing their password, revokes all their grants; deleting a client revokes all its
//! grants; rotating a client's secret does not.

use crate::common::*;
use grantd_domain::{accounts, TokenSettings};
use grantd_ports::{ClientId, ClientStore, UserStore, Username};

fn alice(app: &TestApp) -> grantd_ports::User {
    app.db
        .find_user_by_username(&Username::parse("alice").unwrap())
        .unwrap()
        .unwrap()
}

fn assert_logged_out(app: &TestApp, access: &str, refresh_token: &str) {
    assert_eq!(me(app, access).status(), 401);
    assert_eq!(refresh(app, refresh_token).1["error"], "invalid_grant");
}

fn password_change_revokes_the_users_grants(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let new_password = accounts::NewPassword::parse("new-password").unwrap();
    accounts::change_password(&app.ports, &alice(&app), &new_password).unwrap();
    assert_logged_out(&app, &access, &r0);
    let (status, _) = json(token_request(
        &app,
        Some(("app", SECRET)),
        "grant_type=password&username=alice&password=new-password",
    ));
    assert_eq!(status, 200, "the new password works");
}

fn disabling_a_user_revokes_grants_and_refuses_logins(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    accounts::disable_user(&app.ports, &alice(&app)).unwrap();
    assert_logged_out(&app, &access, &r0);
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    accounts::enable_user(&app.ports, &alice(&app)).unwrap();
    login(&app);
}

fn deleting_a_user_revokes_their_grants(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    accounts::delete_user(&app.ports, &alice(&app)).unwrap();
    assert_logged_out(&app, &access, &r0);
}

fn deleting_a_client_revokes_its_grants(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let client = app
        .db
        .find_client(&ClientId::parse("app").unwrap())
        .unwrap()
        .unwrap();
    let changed = accounts::delete_client(&app.ports, &client).unwrap();
    assert!(changed.found);
    assert_eq!(me(&app, &access).status(), 401);
    assert_eq!(refresh(&app, &r0).0, 401, "the client itself is gone");
}

fn rotating_a_client_secret_keeps_its_grants(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (access, r0) = login(&app);
    let client = app
        .db
        .find_client(&ClientId::parse("app").unwrap())
        .unwrap()
        .unwrap();
    let secret = accounts::rotate_client_secret(&app.ports, &client)
        .unwrap()
        .unwrap();
    assert_eq!(me(&app, &access).status(), 200);
    // The old secret is refused at once; the new one refreshes the same grant.
    assert_eq!(refresh(&app, &r0).0, 401);
    let (status, body) = json(token_request(
        &app,
        Some(("app", secret.expose())),
        &format!("grant_type=refresh_token&refresh_token={r0}"),
    ));
    assert_eq!(status, 200, "{body}");
}

on_both_backends!(
    password_change_revokes_the_users_grants,
    disabling_a_user_revokes_grants_and_refuses_logins,
    deleting_a_user_revokes_their_grants,
    deleting_a_client_revokes_its_grants,
    rotating_a_client_secret_keeps_its_grants,
);
