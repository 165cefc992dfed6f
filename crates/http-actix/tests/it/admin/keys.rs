//! `/admin/keys` and `/admin/prune`: list, rotate and retire signing keys as
//! `grantd keys` does; without signing keys a 409 problem; a prune run now.

use reqwest::Method;

use super::audit_log::assert_audited;
use super::*;

fn keys_are_listed_rotated_and_retired(backend: Backend) {
    let admin = Admin::start(backend);
    let before = admin.call(Method::GET, "/admin/keys", None);
    assert_eq!(before.status, 200, "{before:?}");
    let count = before.body["keys"].as_array().unwrap().len();
    assert!(!before.body.to_string().contains("private"));

    let rotated = admin.call(Method::POST, "/admin/keys", None);
    assert_eq!(rotated.status, 201, "{rotated:?}");
    let kid = rotated.body["kid"].as_str().unwrap().to_owned();
    let after = admin.call(Method::GET, "/admin/keys", None);
    assert_eq!(after.body["keys"].as_array().unwrap().len(), count + 1);

    let retired = admin.call(Method::POST, &format!("/admin/keys/{kid}/retire"), None);
    assert_eq!(retired.status, 200, "{retired:?}");
    assert_eq!(retired.body["published_for_secs"], 3600);
    assert_problem(
        &admin.call(Method::POST, &format!("/admin/keys/{kid}/retire"), None),
        404,
    );

    let audit = admin.audit();
    assert_audited(&audit, "key.rotate", &kid, "ok");
    assert_audited(&audit, "key.retire", &kid, "ok");
    assert_audited(&audit, "key.retire", &kid, "not-found");
}

fn without_signing_keys_the_keys_routes_say_so(backend: Backend) {
    let admin = Admin::on(TestApp::start_without_signing_keys(
        backend,
        Default::default(),
    ));
    let r = admin.call(Method::GET, "/admin/keys", None);
    assert_problem(&r, 409);
    assert_problem(&admin.call(Method::POST, "/admin/keys", None), 409);
}

fn prune_runs_now(backend: Backend) {
    let admin = Admin::start(backend);
    login(&admin.app);
    admin.app.clock.advance(30 * 24 * 3600);
    // The admin's own token has expired by now: get a fresh one.
    let admin = Admin {
        token: super::admin_token(&admin.app, &admin.client_id, &admin.secret),
        ..admin
    };
    let r = admin.call(Method::POST, "/admin/prune", None);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["grants"].as_u64().unwrap() >= 1, "{r:?}");
    assert!(r.body["access_tokens"].as_u64().unwrap() >= 1, "{r:?}");
    assert_audited(&admin.audit(), "prune.run", "-", "ok");
}

on_both_backends!(
    keys_are_listed_rotated_and_retired,
    without_signing_keys_the_keys_routes_say_so,
    prune_runs_now,
);
