//! The `AuthorizationStore` contract, run against both backends (`postgres::*`,
//! `sqlite::*`), each test on a fresh database: codes round-trip, redeem is atomic and
//! writes the issuance with the redeemed mark, consents are saved, replaced and revoked,
//! and a person's consents are listed (theirs only, by client id).

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use grantd_testkit::contract;

use std::sync::{Barrier, Mutex};
use std::time::Duration;

use grantd_ports::{
    AccessToken, AuthorizationCodeRecord, AuthorizationStore, Client, ClientId, ClientStore,
    CodeChallenge, CodeChallengeMethod, CodeWrite, Consent, GrantId, GrantRecord, GrantType,
    Issuance, LifetimeOverrides, NewRefreshToken, RedeemOutcome, ScopeSet, Subject, TokenHash,
    TokenStore, User, UserId, UserStore, Username,
};
use grantd_store_diesel::Database;

contract!(
    codes_round_trip_and_unknown_codes_are_not_found,
    declined_redeem_writes_nothing,
    redeem_marks_the_code_and_writes_the_issuance,
    concurrent_redemptions_have_exactly_one_winner,
    consents_are_saved_replaced_and_revoked,
    consents_of_a_user_are_theirs_only_ordered_by_client_id,
    deleting_the_user_removes_codes_and_consents,
);

const T0: i64 = 1_700_000_000;

fn setup(db: &Database) -> (Client, User) {
    let client = Client {
        id: ClientId::parse("web").unwrap(),
        name: "Web".into(),
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read write").unwrap(),
        default_scopes: None,
        redirect_uris: vec!["https://web.example/cb".into()],
        post_logout_redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        created_at: T0,
        require_dpop: false,
        admin: false,
    };
    let user = User {
        id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: grantd_ports::SecretHash::from_stored("$2b$04$x".into()),
        disabled: false,
        session_stamp: grantd_ports::SessionStamp::parse("stamp").unwrap(),
        profile: Default::default(),
        created_at: T0,
    };
    db.insert_client(&client).unwrap();
    db.insert_user(&user).unwrap();
    (client, user)
}

fn code(name: &str) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of(name),
        client_id: ClientId::parse("web").unwrap(),
        user_id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        redirect_uri: Some("https://web.example/cb".into()),
        scope: ScopeSet::parse("read").unwrap(),
        resources: grantd_ports::ResourceSet::empty(),
        challenge: Some(CodeChallenge {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: CodeChallengeMethod::S256,
        }),
        issued_at: T0,
        expires_at: T0 + 60,
        redeemed_at: None,
        grant_id: None,
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: Some(T0 - 30),
        dpop_jkt: None,
    }
}

fn issuance(tag: &str, at: i64) -> Issuance {
    let grant_id = GrantId::parse(&format!("g-{tag}")).unwrap();
    Issuance {
        grant: GrantRecord {
            id: grant_id.clone(),
            client_id: ClientId::parse("web").unwrap(),
            subject: Subject::User {
                id: UserId::parse("u1").unwrap(),
                username: Username::parse("alice").unwrap(),
            },
            scope: ScopeSet::parse("read").unwrap(),
            resources: grantd_ports::ResourceSet::empty(),
            created_at: at,
            expires_at: None,
            revoked_at: None,
            auth_time: None,
            dpop_jkt: None,
        },
        access: AccessToken {
            hash: TokenHash::of(&format!("access {tag}")),
            grant_id: grant_id.clone(),
            scope: ScopeSet::parse("read").unwrap(),
            audience: vec![],
            issued_at: at,
            expires_at: at + 600,
            revoked_at: None,
            dpop_jkt: None,
        },
        refresh: Some(NewRefreshToken {
            hash: TokenHash::of(&format!("refresh {tag}")),
            grant_id,
            issued_at: at,
            expires_at: at + 3600,
        }),
    }
}

/// The stored code, read through a declining redeem (the port has no plain lookup).
fn peek(db: &Database, name: &str) -> Option<AuthorizationCodeRecord> {
    let mut seen = None;
    let outcome = db
        .redeem_code(
            &TokenHash::of(name),
            &mut |c: &AuthorizationCodeRecord, _: Option<&User>| {
                seen = Some(c.clone());
                CodeWrite::Decline
            },
        )
        .unwrap();
    assert_ne!(outcome, RedeemOutcome::Redeemed);
    seen
}

fn codes_round_trip_and_unknown_codes_are_not_found(db: &Database) {
    setup(db);
    let c = code("c1");
    db.insert_code(&c).unwrap();
    assert_eq!(peek(db, "c1"), Some(c.clone()));
    let no_pkce = AuthorizationCodeRecord {
        hash: TokenHash::of("c2"),
        challenge: None,
        redirect_uri: None,
        ..c.clone()
    };
    db.insert_code(&no_pkce).unwrap();
    assert_eq!(peek(db, "c2"), Some(no_pkce));
    // RFC 9449 §10: a code bound to a DPoP key keeps its thumbprint.
    let bound = AuthorizationCodeRecord {
        hash: TokenHash::of("c3"),
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into()),
        ..c.clone()
    };
    db.insert_code(&bound).unwrap();
    assert_eq!(peek(db, "c3"), Some(bound));
    assert!(matches!(
        db.insert_code(&c),
        Err(grantd_ports::StoreError::Conflict(_))
    ));
    let mut called = false;
    let outcome = db
        .redeem_code(
            &TokenHash::of("nope"),
            &mut |_: &AuthorizationCodeRecord, _: Option<&User>| {
                called = true;
                CodeWrite::Decline
            },
        )
        .unwrap();
    assert_eq!(outcome, RedeemOutcome::NotFound);
    assert!(!called, "decide is not called for an unknown code");
}

fn declined_redeem_writes_nothing(db: &Database) {
    setup(db);
    db.insert_code(&code("c1")).unwrap();
    assert_eq!(peek(db, "c1").unwrap().redeemed_at, None);
}

fn redeem_marks_the_code_and_writes_the_issuance(db: &Database) {
    setup(db);
    db.insert_code(&code("c1")).unwrap();
    let i = issuance("a", T0 + 5);
    let outcome = db
        .redeem_code(
            &TokenHash::of("c1"),
            &mut |_: &AuthorizationCodeRecord, _: Option<&User>| {
                CodeWrite::Redeem(Box::new(i.clone()))
            },
        )
        .unwrap();
    assert_eq!(outcome, RedeemOutcome::Redeemed);
    let stored = peek(db, "c1").unwrap();
    assert_eq!(stored.redeemed_at, Some(T0 + 5));
    assert_eq!(stored.grant_id, Some(i.grant.id.clone()));
    let access = db.find_access_token(&i.access.hash).unwrap().unwrap();
    assert_eq!(access.grant, i.grant);
    let refresh = db
        .find_refresh_token(&i.refresh.unwrap().hash)
        .unwrap()
        .unwrap();
    assert_eq!(refresh.grant.id, i.grant.id);
}

/// Many exchanges of one code at once: exactly one sees it unredeemed and writes.
fn concurrent_redemptions_have_exactly_one_winner(db: &Database) {
    const CALLERS: usize = 16;
    setup(db);
    db.insert_code(&code("c1")).unwrap();
    let start = Barrier::new(CALLERS);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for caller in 0..CALLERS {
            let (start, outcomes) = (&start, &outcomes);
            scope.spawn(move || {
                let write = issuance(&format!("c{caller}"), T0 + 5);
                let mut decide = |c: &AuthorizationCodeRecord, _: Option<&User>| {
                    std::thread::sleep(Duration::from_millis(10));
                    if c.redeemed_at.is_none() {
                        CodeWrite::Redeem(Box::new(write.clone()))
                    } else {
                        CodeWrite::Decline
                    }
                };
                start.wait();
                let outcome = db.redeem_code(&TokenHash::of("c1"), &mut decide);
                outcomes.lock().unwrap().push((caller, outcome));
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    assert!(outcomes.iter().all(|(_, o)| o.is_ok()), "{outcomes:?}");
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| *o == Ok(RedeemOutcome::Redeemed))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for caller in 0..CALLERS {
        let i = issuance(&format!("c{caller}"), T0 + 5);
        assert_eq!(
            db.find_access_token(&i.access.hash).unwrap().is_some(),
            caller == winners[0]
        );
    }
    assert_eq!(
        peek(db, "c1").unwrap().grant_id.unwrap().as_str(),
        format!("g-c{}", winners[0])
    );
}

fn consents_are_saved_replaced_and_revoked(db: &Database) {
    let (client, user) = setup(db);
    assert_eq!(db.find_consent(&user.id, &client.id).unwrap(), None);
    let consent = Consent {
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        created_at: T0,
    };
    db.save_consent(&consent).unwrap();
    assert_eq!(
        db.find_consent(&user.id, &client.id).unwrap(),
        Some(consent.clone())
    );
    let wider = Consent {
        scope: ScopeSet::parse("read write").unwrap(),
        created_at: T0 + 1,
        ..consent
    };
    db.save_consent(&wider).unwrap();
    assert_eq!(db.find_consent(&user.id, &client.id).unwrap(), Some(wider));
    let other = ClientId::parse("other").unwrap();
    assert_eq!(db.revoke_consents(&user.id, Some(&other)).unwrap(), 0);
    assert_eq!(db.revoke_consents(&user.id, Some(&client.id)).unwrap(), 1);
    assert_eq!(db.find_consent(&user.id, &client.id).unwrap(), None);
    db.save_consent(&Consent {
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        created_at: T0,
    })
    .unwrap();
    assert_eq!(db.revoke_consents(&user.id, None).unwrap(), 1);
}

/// `consents_of_user` (the admin API's `GET /admin/users/{username}/consents`): only this
/// user's consents, each with its own scope and time, ordered by client id byte for byte
/// (upper case before lower case on both backends), and a revoked one is gone.
fn consents_of_a_user_are_theirs_only_ordered_by_client_id(db: &Database) {
    let (web, alice) = setup(db);
    let api = Client {
        id: ClientId::parse("api").unwrap(),
        ..web.clone()
    };
    let zed = Client {
        id: ClientId::parse("Zed").unwrap(),
        ..web.clone()
    };
    db.insert_client(&api).unwrap();
    db.insert_client(&zed).unwrap();
    let bob = User {
        id: UserId::parse("u2").unwrap(),
        username: Username::parse("bob").unwrap(),
        ..alice.clone()
    };
    db.insert_user(&bob).unwrap();
    let consent = |user: &User, client: &Client, scope: &str, at: i64| Consent {
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scope: ScopeSet::parse(scope).unwrap(),
        created_at: at,
    };
    let alice_web = consent(&alice, &web, "read write", T0 + 1);
    let alice_api = consent(&alice, &api, "read", T0 + 2);
    let alice_zed = consent(&alice, &zed, "write", T0 + 3);
    let bob_web = consent(&bob, &web, "read", T0 + 4);
    for c in [&alice_web, &bob_web, &alice_api, &alice_zed] {
        db.save_consent(c).unwrap();
    }

    assert_eq!(
        db.consents_of_user(&alice.id).unwrap(),
        vec![alice_zed.clone(), alice_api.clone(), alice_web.clone()],
        "alice's three, by client id, none of bob's"
    );
    assert_eq!(db.consents_of_user(&bob.id).unwrap(), vec![bob_web.clone()]);
    assert_eq!(
        db.consents_of_user(&UserId::parse("nobody").unwrap())
            .unwrap(),
        vec![]
    );
    // Replacing one keeps one row for the pair; revoking one leaves the others.
    let wider = consent(&alice, &api, "read write", T0 + 5);
    db.save_consent(&wider).unwrap();
    assert_eq!(db.revoke_consents(&alice.id, Some(&zed.id)).unwrap(), 1);
    assert_eq!(
        db.consents_of_user(&alice.id).unwrap(),
        vec![wider, alice_web]
    );
    assert_eq!(db.consents_of_user(&bob.id).unwrap(), vec![bob_web]);
}

fn deleting_the_user_removes_codes_and_consents(db: &Database) {
    let (client, user) = setup(db);
    db.insert_code(&code("c1")).unwrap();
    db.save_consent(&Consent {
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        created_at: T0,
    })
    .unwrap();
    assert!(db.delete_user(&user.id).unwrap());
    assert_eq!(peek(db, "c1"), None);
    assert_eq!(db.find_consent(&user.id, &client.id).unwrap(), None);
}
