//! Tests of the account page's use case with the mockall doubles: what it lists, and that
//! a person can revoke only their own live grants.

#![allow(clippy::unwrap_used)]

use grantd_ports::{
    ClientId, GrantOverview, GrantRecord, ScopeSet, SecretHash, SessionStamp, Subject, UserId,
    Username,
};

use crate::test_support::*;
use crate::TokenSettings;

fn alice() -> User {
    User {
        id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: SecretHash::from_stored("hash:pw".into()),
        disabled: false,
        session_stamp: SessionStamp::parse(STAMP).unwrap(),
        profile: Default::default(),
        created_at: 0,
    }
}

fn overview(id: &str) -> GrantOverview {
    GrantOverview {
        grant: GrantRecord {
            id: GrantId::parse(id).unwrap(),
            client_id: ClientId::parse("web").unwrap(),
            subject: Subject::User {
                id: UserId::parse("u1").unwrap(),
                username: Username::parse("alice").unwrap(),
            },
            scope: ScopeSet::parse("read write").unwrap(),
            created_at: NOW - 100,
            expires_at: Some(NOW + 1000),
            revoked_at: None,
            auth_time: Some(NOW - 100),
            resources: Default::default(),
            dpop_jkt: None,
        },
        client_name: "Web App".into(),
        last_refreshed_at: Some(NOW - 10),
    }
}

use super::*;

#[test]
fn the_page_lists_each_live_grant_with_its_scopes_in_words() {
    let mut d = Doubles::new();
    d.tokens
        .expect_live_grants_of_user()
        .withf(|user, now| user.as_str() == "u1" && *now == NOW)
        .returning(|_, _| Ok(vec![overview("g1")]));
    let page = d.use_cases(TokenSettings::default()).account;
    let apps = page.applications(&alice()).unwrap();
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!(app.client_name, "Web App");
    assert_eq!(
        (app.granted_at, app.last_refreshed_at, app.ends_at),
        (NOW - 100, Some(NOW - 10), Some(NOW + 1000))
    );
    let names: Vec<&str> = app.scopes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["read", "write"]);
    for (name, description) in &app.scopes {
        assert_eq!(
            description,
            registry().describe(name),
            "the registry's words"
        );
    }
}

#[test]
fn only_ones_own_live_grant_is_revoked() {
    let mut d = Doubles::new();
    d.tokens
        .expect_live_grants_of_user()
        .returning(|_, _| Ok(vec![overview("g1")]));
    d.tokens
        .expect_revoke_grant()
        .withf(|id, _| id.as_str() == "g1")
        .times(1)
        .returning(|_, _| Ok(true));
    let page = d.use_cases(TokenSettings::default()).account;
    assert!(page.revoke(&alice(), "g1").unwrap());
    // Someone else's grant id (or garbage) names none of alice's: nothing is revoked.
    assert!(!page.revoke(&alice(), "g-of-bob").unwrap());
    assert!(!page.revoke(&alice(), "'; DROP TABLE grants; --").unwrap());
}
