//! `/admin/users`: create (the password never logged), show, PATCH the profile, set the
//! password, disable and enable (each idempotent), delete (then 404), and the audit lines.

use reqwest::Method;
use serde_json::json;

use super::audit_log::{all, assert_audited};
use super::*;

const BOB_PASSWORD: &str = "bob-s3cret-passphrase-never-logged";
const BOB_NEW_PASSWORD: &str = "bob-n3w-passphrase-never-logged";

fn bob_logs_in(admin: &Admin, password: &str) -> u16 {
    json(token_request(
        &admin.app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=bob&password={password}"),
    ))
    .0
}

fn a_user_is_created_changed_disabled_enabled_and_deleted(backend: Backend) {
    let admin = Admin::start(backend);
    let created = admin.call(
        Method::POST,
        "/admin/users",
        Some(json!({"username": "bob", "password": BOB_PASSWORD, "email": "bob@example.com"})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let user_id = created.body["user_id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["email"], "bob@example.com");
    assert!(!created.body.to_string().contains(BOB_PASSWORD));
    assert_eq!(bob_logs_in(&admin, BOB_PASSWORD), 200);
    // A taken username is a conflict.
    let again = admin.call(
        Method::POST,
        "/admin/users",
        Some(json!({"username": "bob", "password": "x"})),
    );
    assert_problem(&again, 409);

    // PATCH: set, clear, keep; the same PATCH twice gives the same user.
    let patch = json!({"name": "Bob Builder", "email": null});
    let patched = admin.call(Method::PATCH, "/admin/users/bob", Some(patch.clone()));
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.body["name"], "Bob Builder");
    assert_eq!(patched.body["email"], serde_json::Value::Null);
    let twice = admin.call(Method::PATCH, "/admin/users/bob", Some(patch));
    assert_eq!(twice.body, patched.body);
    assert_eq!(
        admin.call(Method::GET, "/admin/users/bob", None).body,
        patched.body
    );

    // A new password: the old one fails, the new one works, the grants are revoked.
    let set = admin.call(
        Method::PUT,
        "/admin/users/bob/password",
        Some(json!({"password": BOB_NEW_PASSWORD})),
    );
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.body["revoked_grants"], 1);
    assert_eq!(bob_logs_in(&admin, BOB_PASSWORD), 400);
    assert_eq!(bob_logs_in(&admin, BOB_NEW_PASSWORD), 200);

    // Disable (twice: the same outcome), then enable.
    for _ in 0..2 {
        let r = admin.call(Method::POST, "/admin/users/bob/disable", None);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(
            admin.call(Method::GET, "/admin/users/bob", None).body["disabled"],
            true
        );
    }
    assert_eq!(bob_logs_in(&admin, BOB_NEW_PASSWORD), 400);
    for _ in 0..2 {
        assert_eq!(
            admin
                .call(Method::POST, "/admin/users/bob/enable", None)
                .status,
            200
        );
    }
    assert_eq!(bob_logs_in(&admin, BOB_NEW_PASSWORD), 200);

    // Delete, then delete again: 404.
    let deleted = admin.call(Method::DELETE, "/admin/users/bob", None);
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_problem(&admin.call(Method::DELETE, "/admin/users/bob", None), 404);
    assert_problem(&admin.call(Method::GET, "/admin/users/bob", None), 404);
    assert_problem(
        &admin.call(Method::POST, "/admin/users/bob/disable", None),
        404,
    );

    let audit = admin.audit();
    for action in [
        "user.create",
        "user.update",
        "user.set_password",
        "user.disable",
        "user.enable",
        "user.delete",
    ] {
        assert_audited(&audit, action, &user_id, "ok");
    }
    assert_audited(&audit, "user.create", "-", "conflict");
    assert_audited(&audit, "user.delete", "bob", "not-found");
    let log = all();
    assert!(
        !log.contains(BOB_PASSWORD) && !log.contains(BOB_NEW_PASSWORD),
        "a password was logged"
    );
}

fn a_bad_user_names_its_field(backend: Backend) {
    let admin = Admin::start(backend);
    let long = "x".repeat(73);
    let cases = [
        (json!({"username": "", "password": "p"}), "username"),
        (json!({"username": "carol", "password": ""}), "password"),
        (json!({"username": "carol", "password": long}), "password"),
        (
            json!({"username": "carol", "password": "p", "email": "not an address"}),
            "profile",
        ),
    ];
    for (body, field) in cases {
        assert_invalid(&admin.call(Method::POST, "/admin/users", Some(body)), field);
    }
    assert_problem(&admin.call(Method::GET, "/admin/users/carol", None), 404);
    assert_invalid(
        &admin.call(
            Method::PUT,
            "/admin/users/alice/password",
            Some(json!({"password": ""})),
        ),
        "password",
    );
    // Unknown fields are refused, not ignored.
    assert_problem(
        &admin.call(
            Method::PATCH,
            "/admin/users/alice",
            Some(json!({"disabled": true})),
        ),
        400,
    );
}

on_both_backends!(
    a_user_is_created_changed_disabled_enabled_and_deleted,
    a_bad_user_names_its_field,
);
