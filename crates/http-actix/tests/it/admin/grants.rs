//! Grants and consents over the admin API: listed by user and by client with the account
//! page's facts, one revoked (its refresh token is then `invalid_grant`), all of a user's
//! or a client's revoked; consents listed and forgotten.

use grantd_ports::{ClientId, Consent, ScopeSet, UserId};
use reqwest::Method;

use super::audit_log::assert_audited;
use super::*;

fn grants_are_listed_and_revoked(backend: Backend) {
    let admin = Admin::start(backend);
    let (_, refresh_one) = login(&admin.app);
    let (_, refresh_two) = login(&admin.app);

    let of_user = admin.call(Method::GET, "/admin/users/alice/grants", None);
    assert_eq!(of_user.status, 200, "{of_user:?}");
    let grants = of_user.body["grants"].as_array().unwrap().clone();
    assert_eq!(grants.len(), 2, "{grants:?}");
    for g in &grants {
        assert_eq!(g["client_id"], "app");
        assert_eq!(g["username"], "alice");
        assert_eq!(g["scope"], "read write");
        assert!(g["created_at"].as_i64().unwrap() > 0);
        assert!(g.get("last_refreshed_at").is_some() && g.get("expires_at").is_some());
    }
    let of_client = admin.call(Method::GET, "/admin/clients/app/grants", None);
    assert_eq!(of_client.body["grants"].as_array().unwrap().len(), 2);
    assert_problem(
        &admin.call(Method::GET, "/admin/users/nobody/grants", None),
        404,
    );
    assert_problem(
        &admin.call(Method::GET, "/admin/clients/nobody/grants", None),
        404,
    );

    // Revoke the grant of the first refresh token (newest first: find it by refreshing).
    admin.app.clock.advance(5);
    let (status, _) = refresh(&admin.app, &refresh_one);
    assert_eq!(status, 200);
    let refreshed: Vec<_> = admin
        .call(Method::GET, "/admin/users/alice/grants", None)
        .body["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["last_refreshed_at"].is_null())
        .map(|g| g["grant_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refreshed.len(), 1, "the refreshed grant shows when");
    let grant_id = &refreshed[0];
    let r = admin.call(Method::DELETE, &format!("/admin/grants/{grant_id}"), None);
    assert_eq!(r.status, 204, "{r:?}");
    assert_problem(
        &admin.call(Method::DELETE, &format!("/admin/grants/{grant_id}"), None),
        404,
    );
    // That grant's tokens are dead, the other's live.
    let (status, body) = refresh(&admin.app, &refresh_one);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = refresh(&admin.app, &refresh_two);
    assert_eq!(status, 200, "{body}");
    let refresh_two = body["refresh_token"]
        .as_str()
        .unwrap_or(&refresh_two)
        .to_owned();

    // Revoke all of alice's: one left. Again: none (idempotent).
    let r = admin.call(Method::DELETE, "/admin/users/alice/grants", None);
    assert_eq!(r.body["revoked_grants"], 1, "{r:?}");
    let r = admin.call(Method::DELETE, "/admin/users/alice/grants", None);
    assert_eq!(r.body["revoked_grants"], 0, "{r:?}");
    let (status, _) = refresh(&admin.app, &refresh_two);
    assert_eq!(status, 400);
    // And all of a client's.
    login(&admin.app);
    let r = admin.call(Method::DELETE, "/admin/clients/app/grants", None);
    assert_eq!(r.body["revoked_grants"], 1, "{r:?}");
    assert!(admin
        .call(Method::GET, "/admin/clients/app/grants", None)
        .body["grants"]
        .as_array()
        .unwrap()
        .is_empty());

    let audit = admin.audit();
    assert_audited(&audit, "grant.revoke", grant_id, "ok");
    assert_audited(&audit, "grant.revoke", grant_id, "not-found");
    assert_audited(&audit, "user.revoke_grants", "alice", "ok");
    assert_audited(&audit, "client.revoke_grants", "app", "ok");
}

fn consents_are_listed_and_forgotten(backend: Backend) {
    let admin = Admin::start(backend);
    for client in ["web", "native"] {
        admin
            .app
            .ports
            .authorizations
            .save_consent(&Consent {
                user_id: UserId::parse("user-alice").unwrap(),
                client_id: ClientId::parse(client).unwrap(),
                scope: ScopeSet::parse("read").unwrap(),
                created_at: 1,
            })
            .unwrap();
    }
    let list = admin.call(Method::GET, "/admin/users/alice/consents", None);
    assert_eq!(list.status, 200, "{list:?}");
    let clients: Vec<_> = list.body["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(clients, ["native", "web"]);
    let r = admin.call(
        Method::DELETE,
        "/admin/users/alice/consents?client_id=web",
        None,
    );
    assert_eq!(r.body["revoked_consents"], 1, "{r:?}");
    let r = admin.call(
        Method::DELETE,
        "/admin/users/alice/consents?client_id=web",
        None,
    );
    assert_eq!(r.body["revoked_consents"], 0);
    assert_problem(
        &admin.call(
            Method::DELETE,
            "/admin/users/alice/consents?client_id=nope",
            None,
        ),
        404,
    );
    let r = admin.call(Method::DELETE, "/admin/users/alice/consents", None);
    assert_eq!(r.body["revoked_consents"], 1);
    let list = admin.call(Method::GET, "/admin/users/alice/consents", None);
    assert!(list.body["consents"].as_array().unwrap().is_empty());
    assert_audited(&admin.audit(), "consent.revoke", "alice", "ok");
}

on_both_backends!(
    grants_are_listed_and_revoked,
    consents_are_listed_and_forgotten
);
