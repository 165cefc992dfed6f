//! The store contract: what `ClientStore`, `UserStore` and `TokenStore` must do, written
//! once and run against both backends (`postgres::*` and `sqlite::*`), each test on a
//! fresh database. The admin API's store calls are here too: `update_client` and
//! `live_grants_of_client`.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use grantd_testkit::contract;

use std::sync::{Barrier, Mutex};
use std::time::Duration;

use grantd_ports::{
    AccessToken, Client, ClientId, ClientStore, GrantId, GrantRecord, GrantType, Issuance,
    LifetimeOverrides, NewRefreshToken, RefreshIntent, RefreshTokenState, RefreshWrite,
    RotateOutcome, ScopeSet, SecretHash, StoreError, Subject, TokenHash, TokenStore, User, UserId,
    UserStore, Username,
};
use grantd_store_diesel::Database;

contract!(
    ping_answers,
    live_grants_of_a_user_with_their_client_and_last_refresh,
    live_grants_of_a_client_are_its_own_live_ones_newest_first,
    clients_round_trip_and_list_in_id_order,
    a_clients_own_default_scopes_round_trip_none_empty_or_some,
    inserting_a_taken_client_id_conflicts,
    set_client_secret_bumps_the_version,
    update_client_replaces_the_settings_only_and_bumps_the_version,
    an_unchanged_update_still_bumps_the_version,
    updating_an_unknown_client_is_false_and_stores_nothing,
    delete_client_removes_its_grants_and_tokens,
    users_round_trip_and_taken_usernames_conflict,
    user_password_and_disabled_flag_change,
    delete_user_removes_their_grants_and_tokens,
    issue_stores_grant_and_tokens,
    client_credentials_grant_has_no_user,
    issue_is_all_or_nothing,
    revoke_grant_revokes_the_family,
    revoke_access_token_once,
    revoke_grants_of_user_and_client,
    rotate_unknown_token_is_not_found_without_deciding,
    declined_rotation_writes_nothing,
    consume_writes_in_one_step_and_reuse_sees_it_consumed,
    a_consumed_token_shows_when_its_successor_is_used,
    keep_never_consumes,
    a_write_against_the_declared_intent_writes_nothing,
    concurrent_rotations_have_exactly_one_winner,
    concurrent_keeps_all_write_and_never_consume,
);

const T0: i64 = 1_700_000_000;

// ---- record builders -------------------------------------------------------------------

pub(crate) fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: format!("{id} app"),
        secret: Some(SecretHash::from_stored(format!("$2b$04$secret-of-{id}"))),
        secret_version: 1,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read write").unwrap(),
        default_scopes: None,
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1:8080/cb?x=1".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        can_introspect: false,
        lifetimes: LifetimeOverrides {
            access_token: Some(600),
            refresh_token: None,
            refresh_token_max: Some(86_400),
        },
        access_token_format: Some(grantd_ports::AccessTokenFormat::Jwt),
        created_at: T0,
        require_dpop: false,
        admin: false,
    }
}

fn public_client(id: &str) -> Client {
    Client {
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: ScopeSet::empty(),
        redirect_uris: Vec::new(),
        can_introspect: true,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        ..client(id)
    }
}

pub(crate) fn user(id: &str, username: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        username: Username::parse(username).unwrap(),
        password: SecretHash::from_stored(format!("$2b$04$password-of-{id}")),
        disabled: false,
        session_stamp: grantd_ports::SessionStamp::parse(&format!("stamp-of-{id}")).unwrap(),
        profile: grantd_ports::UserProfile {
            name: Some(format!("{username} Example")),
            email: Some(format!("{username}@example.com")),
            email_verified: username == "alice",
        },
        created_at: T0,
    }
}

pub(crate) fn user_grant(id: &str, client: &Client, user: &User) -> GrantRecord {
    GrantRecord {
        id: GrantId::parse(id).unwrap(),
        client_id: client.id.clone(),
        subject: Subject::User {
            id: user.id.clone(),
            username: user.username.clone(),
        },
        scope: ScopeSet::parse("read write").unwrap(),
        resources: grantd_ports::ResourceSet::empty(),
        created_at: T0,
        expires_at: Some(T0 + 86_400),
        revoked_at: None,
        auth_time: Some(T0 - 5),
        dpop_jkt: None,
    }
}

pub(crate) fn access(name: &str, grant: &GrantRecord, issued_at: i64) -> AccessToken {
    AccessToken {
        hash: TokenHash::of(name),
        grant_id: grant.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        audience: vec![],
        issued_at,
        expires_at: issued_at + 600,
        revoked_at: None,
        dpop_jkt: None,
    }
}

pub(crate) fn refresh(name: &str, grant: &GrantRecord, issued_at: i64) -> NewRefreshToken {
    NewRefreshToken {
        hash: TokenHash::of(name),
        grant_id: grant.id.clone(),
        issued_at,
        expires_at: issued_at + 3_600,
    }
}

/// A client, a user and one password grant with access token `<grant>-a0` and refresh
/// token `<grant>-r0`.
fn setup_grant(db: &Database, grant_id: &str) -> (Client, User, GrantRecord) {
    let c = client("app");
    let u = user("u1", "alice");
    if db.find_client(&c.id).unwrap().is_none() {
        db.insert_client(&c).unwrap();
    }
    if db.find_user_by_username(&u.username).unwrap().is_none() {
        db.insert_user(&u).unwrap();
    }
    let g = user_grant(grant_id, &c, &u);
    db.issue(&Issuance {
        grant: g.clone(),
        access: access(&format!("{grant_id}-a0"), &g, T0),
        refresh: Some(refresh(&format!("{grant_id}-r0"), &g, T0)),
    })
    .unwrap();
    (c, u, g)
}

/// A rotation at `at`, 250 ms into that second, to successor `refresh <tag>`.
fn rotation(grant: &GrantRecord, tag: &str, at: i64) -> RefreshWrite {
    RefreshWrite {
        consume: true,
        consumed_at_ms: at * 1000 + 250,
        sealed_response: Some(format!("sealed {tag}").into_bytes()),
        access: access(&format!("access {tag}"), grant, at),
        successor: Some(refresh(&format!("refresh {tag}"), grant, at)),
    }
}

// ---- the contract ----------------------------------------------------------------------

fn ping_answers(db: &Database) {
    db.ping().unwrap();
}

fn clients_round_trip_and_list_in_id_order(db: &Database) {
    let b = client("b-client");
    let a = public_client("A-client");
    let z = client("z-client");
    for c in [&b, &z, &a] {
        db.insert_client(c).unwrap();
    }
    assert_eq!(db.find_client(&b.id).unwrap(), Some(b.clone()));
    assert_eq!(db.find_client(&a.id).unwrap(), Some(a.clone()));
    assert!(db.find_client(&a.id).unwrap().unwrap().is_public());
    assert_eq!(
        db.find_client(&ClientId::parse("nobody").unwrap()).unwrap(),
        None
    );
    assert_eq!(db.list_clients().unwrap(), vec![a, b, z]);
}

fn a_clients_own_default_scopes_round_trip_none_empty_or_some(db: &Database) {
    // None (the registry's defaults) and Some(empty) (no default) mean different things.
    let cases = [
        ("none", None),
        ("empty", Some(ScopeSet::empty())),
        ("some", Some(ScopeSet::parse("write read").unwrap())),
    ];
    for (id, default_scopes) in cases {
        let c = Client {
            default_scopes,
            ..client(id)
        };
        db.insert_client(&c).unwrap();
        assert_eq!(db.find_client(&c.id).unwrap(), Some(c.clone()), "{id}");
    }
    let listed: Vec<_> = db
        .list_clients()
        .unwrap()
        .into_iter()
        .map(|c| c.default_scopes.map(|s| s.to_delimited()))
        .collect();
    assert_eq!(
        listed,
        [Some(String::new()), None, Some("read write".to_owned())]
    );
}

fn inserting_a_taken_client_id_conflicts(db: &Database) {
    db.insert_client(&client("app")).unwrap();
    let again = Client {
        name: "another".into(),
        ..client("app")
    };
    assert!(matches!(
        db.insert_client(&again),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.find_client(&again.id).unwrap(), Some(client("app")));
}

fn set_client_secret_bumps_the_version(db: &Database) {
    let c = client("app");
    db.insert_client(&c).unwrap();
    let new_secret = SecretHash::from_stored("$2b$04$rotated".into());
    assert!(db.set_client_secret(&c.id, &new_secret).unwrap());
    let stored = db.find_client(&c.id).unwrap().unwrap();
    assert_eq!(stored.secret, Some(new_secret.clone()));
    assert_eq!(stored.secret_version, c.secret_version + 1);
    assert!(db.set_client_secret(&c.id, &new_secret).unwrap());
    assert_eq!(
        db.find_client(&c.id).unwrap().unwrap().secret_version,
        c.secret_version + 2
    );
    // A public client becomes confidential.
    let p = public_client("pub");
    db.insert_client(&p).unwrap();
    assert!(db.set_client_secret(&p.id, &new_secret).unwrap());
    assert!(!db.find_client(&p.id).unwrap().unwrap().is_public());
    assert!(!db
        .set_client_secret(&ClientId::parse("nobody").unwrap(), &new_secret)
        .unwrap());
}

/// `update_client` replaces every setting (`admin` included) but the id, the secret, the
/// version and the creation time, and the row's version goes up by one (migration 000014's
/// trigger, which the in-memory client rows rely on); other clients are untouched.
fn update_client_replaces_the_settings_only_and_bumps_the_version(db: &Database) {
    let c = client("app");
    let other = client("other");
    db.insert_client(&c).unwrap();
    db.insert_client(&other).unwrap();
    let changed = Client {
        name: "renamed app".into(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read").unwrap(),
        default_scopes: Some(ScopeSet::parse("read").unwrap()),
        redirect_uris: vec!["https://new.example/cb".into()],
        post_logout_redirect_uris: vec![],
        can_introspect: true,
        lifetimes: LifetimeOverrides {
            access_token: None,
            refresh_token: Some(7_200),
            refresh_token_max: None,
        },
        access_token_format: None,
        require_dpop: true,
        admin: true,
        // None of these may be written by an update.
        secret: Some(SecretHash::from_stored("$2b$04$not-this-one".into())),
        secret_version: 99,
        created_at: T0 + 999,
        ..c.clone()
    };
    assert!(db.update_client(&changed).unwrap());
    let stored = db.find_client(&c.id).unwrap().unwrap();
    assert_eq!(
        stored,
        Client {
            secret: c.secret.clone(),
            secret_version: c.secret_version + 1,
            created_at: c.created_at,
            ..changed
        }
    );
    assert_eq!(db.find_client(&other.id).unwrap(), Some(other));

    // Settings set back to None or empty are stored as such, not kept.
    let cleared = Client {
        default_scopes: None,
        redirect_uris: vec![],
        lifetimes: LifetimeOverrides::default(),
        ..stored.clone()
    };
    assert!(db.update_client(&cleared).unwrap());
    assert_eq!(
        db.find_client(&c.id).unwrap(),
        Some(Client {
            secret_version: stored.secret_version + 1,
            ..cleared
        })
    );
}

/// An update that changes no value is still a write: the version goes up (the store does
/// not compare; the admin use case skips the call when nothing changed). Nothing else moves.
fn an_unchanged_update_still_bumps_the_version(db: &Database) {
    let c = client("app");
    db.insert_client(&c).unwrap();
    assert!(db.update_client(&c).unwrap());
    assert_eq!(
        db.find_client(&c.id).unwrap(),
        Some(Client {
            secret_version: c.secret_version + 1,
            ..c.clone()
        })
    );
    assert!(db.update_client(&c).unwrap());
    assert_eq!(
        db.find_client(&c.id).unwrap().unwrap().secret_version,
        c.secret_version + 2
    );
}

fn updating_an_unknown_client_is_false_and_stores_nothing(db: &Database) {
    db.insert_client(&client("app")).unwrap();
    let ghost = client("ghost");
    assert!(!db.update_client(&ghost).unwrap());
    assert_eq!(db.find_client(&ghost.id).unwrap(), None);
    assert_eq!(db.list_clients().unwrap(), vec![client("app")]);
}

fn delete_client_removes_its_grants_and_tokens(db: &Database) {
    let (c, u, g) = setup_grant(db, "g1");
    let other = client("other");
    db.insert_client(&other).unwrap();
    let kept = user_grant("g2", &other, &u);
    db.issue(&Issuance {
        grant: kept.clone(),
        access: access("g2-a0", &kept, T0),
        refresh: Some(refresh("g2-r0", &kept, T0)),
    })
    .unwrap();

    assert!(db.delete_client(&c.id).unwrap());
    assert_eq!(db.find_client(&c.id).unwrap(), None);
    assert_eq!(db.find_access_token(&TokenHash::of("g1-a0")).unwrap(), None);
    assert_eq!(
        db.find_refresh_token(&TokenHash::of("g1-r0")).unwrap(),
        None
    );
    assert!(!db.revoke_grant(&g.id, T0).unwrap(), "the grant is gone");
    // Nothing else is touched.
    assert!(db
        .find_access_token(&TokenHash::of("g2-a0"))
        .unwrap()
        .is_some());
    assert!(db.find_user_by_username(&u.username).unwrap().is_some());
    assert!(!db.delete_client(&c.id).unwrap());
}

fn users_round_trip_and_taken_usernames_conflict(db: &Database) {
    let alice = user("u1", "alice");
    db.insert_user(&alice).unwrap();
    db.insert_user(&user("u2", "zoë")).unwrap();
    assert_eq!(
        db.find_user_by_username(&alice.username).unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        db.find_user_by_username(&Username::parse("zoë").unwrap())
            .unwrap()
            .map(|u| u.id),
        Some(UserId::parse("u2").unwrap())
    );
    assert_eq!(
        db.find_user_by_username(&Username::parse("bob").unwrap())
            .unwrap(),
        None
    );
    assert!(matches!(
        db.insert_user(&user("u3", "alice")),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        db.insert_user(&user("u1", "carol")),
        Err(StoreError::Conflict(_))
    ));
}

fn user_password_and_disabled_flag_change(db: &Database) {
    let alice = user("u1", "alice");
    db.insert_user(&alice).unwrap();
    let password = SecretHash::from_stored("$2b$04$new".into());
    let stamp = grantd_ports::SessionStamp::parse("stamp-2").unwrap();
    assert!(db
        .change_password(&alice.id, &password, &stamp, T0)
        .unwrap()
        .is_some());
    assert!(db.disable_user(&alice.id, &stamp, T0).unwrap().is_some());
    let stored = db.find_user_by_username(&alice.username).unwrap().unwrap();
    assert_eq!(stored.password, password);
    assert!(stored.disabled);
    assert!(db.enable_user(&alice.id).unwrap());
    assert!(
        !db.find_user_by_username(&alice.username)
            .unwrap()
            .unwrap()
            .disabled
    );
    let nobody = UserId::parse("nobody").unwrap();
    assert!(db
        .change_password(&nobody, &password, &stamp, T0)
        .unwrap()
        .is_none());
    assert!(db.disable_user(&nobody, &stamp, T0).unwrap().is_none());
}

fn delete_user_removes_their_grants_and_tokens(db: &Database) {
    let (c, u, _g) = setup_grant(db, "g1");
    let bob = user("u2", "bob");
    db.insert_user(&bob).unwrap();
    let kept = user_grant("g2", &c, &bob);
    db.issue(&Issuance {
        grant: kept.clone(),
        access: access("g2-a0", &kept, T0),
        refresh: None,
    })
    .unwrap();

    assert!(db.delete_user(&u.id).unwrap());
    assert_eq!(db.find_user_by_username(&u.username).unwrap(), None);
    assert_eq!(db.find_access_token(&TokenHash::of("g1-a0")).unwrap(), None);
    assert_eq!(
        db.find_refresh_token(&TokenHash::of("g1-r0")).unwrap(),
        None
    );
    assert!(db
        .find_access_token(&TokenHash::of("g2-a0"))
        .unwrap()
        .is_some());
    assert!(db.find_client(&c.id).unwrap().is_some());
    assert!(!db.delete_user(&u.id).unwrap());
}

fn issue_stores_grant_and_tokens(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let found = db
        .find_access_token(&TokenHash::of("g1-a0"))
        .unwrap()
        .unwrap();
    assert_eq!(found.token, access("g1-a0", &g, T0));
    assert_eq!(found.grant, g);
    let found = db
        .find_refresh_token(&TokenHash::of("g1-r0"))
        .unwrap()
        .unwrap();
    let expected = refresh("g1-r0", &g, T0);
    assert_eq!(found.token.hash, expected.hash);
    assert_eq!(found.token.grant_id, g.id);
    assert_eq!(found.token.issued_at, T0);
    assert_eq!(found.token.expires_at, expected.expires_at);
    assert_eq!(found.token.consumed_at, None);
    assert_eq!(found.token.sealed_response, None);
    assert_eq!(found.grant, g);
    // Hashes of kinds do not mix: an access hash is not a refresh token.
    assert_eq!(
        db.find_refresh_token(&TokenHash::of("g1-a0")).unwrap(),
        None
    );
    assert_eq!(
        db.find_access_token(&TokenHash::of("nothing")).unwrap(),
        None
    );
}

fn client_credentials_grant_has_no_user(db: &Database) {
    let c = client("machine");
    db.insert_client(&c).unwrap();
    let g = GrantRecord {
        subject: Subject::Client,
        expires_at: None,
        ..user_grant("cc1", &c, &user("u0", "unused"))
    };
    db.issue(&Issuance {
        grant: g.clone(),
        access: access("cc1-a0", &g, T0),
        refresh: None,
    })
    .unwrap();
    let found = db
        .find_access_token(&TokenHash::of("cc1-a0"))
        .unwrap()
        .unwrap();
    assert_eq!(found.grant, g);
    assert_eq!(found.grant.subject, Subject::Client);
}

fn issue_is_all_or_nothing(db: &Database) {
    let (c, u, _g) = setup_grant(db, "g1");
    let g2 = user_grant("g2", &c, &u);
    // The access hash is already taken by g1: the whole issuance must fail.
    let clash = db.issue(&Issuance {
        grant: g2.clone(),
        access: access("g1-a0", &g2, T0),
        refresh: Some(refresh("g2-r0", &g2, T0)),
    });
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_eq!(
        db.find_refresh_token(&TokenHash::of("g2-r0")).unwrap(),
        None
    );
    assert!(!db.revoke_grant(&g2.id, T0).unwrap(), "g2 was not stored");
    // A refresh hash clash (the last insert) rolls back the grant and the access token too.
    let clash = db.issue(&Issuance {
        grant: g2.clone(),
        access: access("g2-a0", &g2, T0),
        refresh: Some(refresh("g1-r0", &g2, T0)),
    });
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_eq!(db.find_access_token(&TokenHash::of("g2-a0")).unwrap(), None);
    // The same grant id is free again.
    db.issue(&Issuance {
        grant: g2.clone(),
        access: access("g2-a0", &g2, T0),
        refresh: Some(refresh("g2-r0", &g2, T0)),
    })
    .unwrap();
    // A grant for a client that does not exist is refused (foreign key) and leaves nothing.
    let orphan = user_grant("g3", &client("ghost"), &u);
    assert!(db
        .issue(&Issuance {
            grant: orphan.clone(),
            access: access("g3-a0", &orphan, T0),
            refresh: None,
        })
        .is_err());
    assert_eq!(db.find_access_token(&TokenHash::of("g3-a0")).unwrap(), None);
}

fn revoke_grant_revokes_the_family(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let write = rotation(&g, "one", T0 + 10);
    let mut decide = |_: &RefreshTokenState| Some(write.clone());
    db.rotate_refresh(&TokenHash::of("g1-r0"), consume_at(T0 + 10), &mut decide)
        .unwrap();

    assert!(db.revoke_grant(&g.id, T0 + 20).unwrap());
    assert!(!db.revoke_grant(&g.id, T0 + 30).unwrap(), "already revoked");
    for access_hash in [TokenHash::of("g1-a0"), write.access.hash] {
        let state = db.find_access_token(&access_hash).unwrap().unwrap();
        assert_eq!(state.grant.revoked_at, Some(T0 + 20));
        assert_eq!(state.token.revoked_at, None, "the family, not the row");
    }
    let successor = write.successor.unwrap().hash;
    for refresh_hash in [TokenHash::of("g1-r0"), successor] {
        let state = db.find_refresh_token(&refresh_hash).unwrap().unwrap();
        assert_eq!(state.grant.revoked_at, Some(T0 + 20));
    }
    assert!(!db
        .revoke_grant(&GrantId::parse("nope").unwrap(), T0)
        .unwrap());
}

fn revoke_access_token_once(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let hash = TokenHash::of("g1-a0");
    assert!(db.revoke_access_token(&hash, T0 + 5).unwrap());
    assert!(!db.revoke_access_token(&hash, T0 + 6).unwrap());
    let state = db.find_access_token(&hash).unwrap().unwrap();
    assert_eq!(state.token.revoked_at, Some(T0 + 5));
    assert_eq!(state.grant, g, "the grant is untouched");
    assert!(!db
        .revoke_access_token(&TokenHash::of("unknown"), T0)
        .unwrap());
}

fn revoke_grants_of_user_and_client(db: &Database) {
    let (c, alice, g1) = setup_grant(db, "g1");
    setup_grant(db, "g2");
    setup_grant(db, "g3");
    assert!(db
        .revoke_grant(&GrantId::parse("g3").unwrap(), T0 + 1)
        .unwrap());
    let bob = user("u2", "bob");
    db.insert_user(&bob).unwrap();
    let bobs = user_grant("g4", &c, &bob);
    db.issue(&Issuance {
        grant: bobs.clone(),
        access: access("g4-a0", &bobs, T0),
        refresh: None,
    })
    .unwrap();
    let other = client("other");
    db.insert_client(&other).unwrap();
    let others = user_grant("g5", &other, &bob);
    db.issue(&Issuance {
        grant: others.clone(),
        access: access("g5-a0", &others, T0),
        refresh: None,
    })
    .unwrap();

    // Only alice's live grants (g1, g2; g3 was revoked already, at T0 + 1).
    assert_eq!(db.revoke_grants_of_user(&alice.id, T0 + 50).unwrap(), 2);
    assert_eq!(db.revoke_grants_of_user(&alice.id, T0 + 60).unwrap(), 0);
    let revoked_at = |access_name: &str| {
        db.find_access_token(&TokenHash::of(access_name))
            .unwrap()
            .unwrap()
            .grant
            .revoked_at
    };
    assert_eq!(revoked_at("g1-a0"), Some(T0 + 50));
    assert_eq!(revoked_at("g2-a0"), Some(T0 + 50));
    assert_eq!(revoked_at("g3-a0"), Some(T0 + 1));
    assert_eq!(revoked_at("g4-a0"), None);

    // Only the client's live grants: g4 (g1..g3 are revoked); g5 belongs to `other`.
    assert_eq!(
        db.revoke_grants_of_client(&g1.client_id, T0 + 70).unwrap(),
        1
    );
    assert_eq!(revoked_at("g4-a0"), Some(T0 + 70));
    assert_eq!(revoked_at("g5-a0"), None);
    assert_eq!(
        db.revoke_grants_of_user(&UserId::parse("nobody").unwrap(), T0)
            .unwrap(),
        0
    );
}

// ---- the account page's read ----------------------------------------------------------

fn live_grants_of_a_user_with_their_client_and_last_refresh(db: &Database) {
    let (c, u, g1) = setup_grant(db, "g1");
    // g2: refreshed (rotated) at T0 + 50; g3: revoked; g4: past its cap; g5: bob's.
    setup_grant(db, "g2");
    let g2 = user_grant("g2", &c, &u);
    let mut rotate = |_: &RefreshTokenState| Some(rotation(&g2, "g2-1", T0 + 50));
    assert_eq!(
        db.rotate_refresh(&TokenHash::of("g2-r0"), consume_at(T0 + 50), &mut rotate)
            .unwrap(),
        RotateOutcome::Written
    );
    setup_grant(db, "g3");
    db.revoke_grant(&GrantId::parse("g3").unwrap(), T0 + 1)
        .unwrap();
    let mut capped = user_grant("g4", &c, &u);
    capped.expires_at = Some(T0 + 60);
    db.issue(&Issuance {
        grant: capped.clone(),
        access: access("g4-a0", &capped, T0),
        refresh: Some(refresh("g4-r0", &capped, T0)),
    })
    .unwrap();
    let bob = user("u2", "bob");
    db.insert_user(&bob).unwrap();
    let theirs = user_grant("g5", &c, &bob);
    db.issue(&Issuance {
        grant: theirs.clone(),
        access: access("g5-a0", &theirs, T0),
        refresh: None,
    })
    .unwrap();

    let live = db.live_grants_of_user(&u.id, T0 + 100).unwrap();
    let ids: Vec<&str> = live.iter().map(|o| o.grant.id.as_str()).collect();
    assert_eq!(
        ids,
        ["g1", "g2"],
        "newest first, then by id; live ones of alice only"
    );
    assert!(live.iter().all(|o| o.client_name == c.name));
    assert_eq!(live[0].grant, g1);
    assert_eq!(live[0].last_refreshed_at, None, "never refreshed");
    assert_eq!(live[1].last_refreshed_at, Some(T0 + 50));
    // Once every token has expired, nothing holds access any more.
    assert!(db
        .live_grants_of_user(&u.id, T0 + 10_000)
        .unwrap()
        .is_empty());
}

/// `live_grants_of_client` (the admin API's `GET /admin/clients/{client_id}/grants`): the
/// client's live grants whatever their subject (users and `client_credentials`), newest
/// first and then by id; never a revoked grant, one past its cap, one whose every token has
/// expired, or another client's. The port defines no pagination: every live grant comes.
fn live_grants_of_a_client_are_its_own_live_ones_newest_first(db: &Database) {
    let (c, alice, g1) = setup_grant(db, "g1");
    let bob = user("u2", "bob");
    db.insert_user(&bob).unwrap();
    let other = client("other");
    db.insert_client(&other).unwrap();
    let issue = |grant: &GrantRecord, at: i64| {
        db.issue(&Issuance {
            grant: grant.clone(),
            access: access(&format!("{}-a0", grant.id.as_str()), grant, at),
            refresh: Some(refresh(&format!("{}-r0", grant.id.as_str()), grant, at)),
        })
        .unwrap();
    };
    // Live: bob's (newer), a client_credentials grant (newest), and "g0" created with g1.
    let bobs = GrantRecord {
        created_at: T0 + 10,
        ..user_grant("g2", &c, &bob)
    };
    issue(&bobs, T0 + 10);
    let machine = GrantRecord {
        subject: Subject::Client,
        created_at: T0 + 20,
        expires_at: None,
        ..user_grant("g-cc", &c, &alice)
    };
    issue(&machine, T0 + 20);
    let tie = user_grant("g0", &c, &alice);
    issue(&tie, T0);
    // Not live: revoked, past its cap, every token expired, another client's.
    let revoked = user_grant("g3", &c, &alice);
    issue(&revoked, T0);
    db.revoke_grant(&revoked.id, T0 + 1).unwrap();
    let capped = GrantRecord {
        expires_at: Some(T0 + 60),
        ..user_grant("g4", &c, &alice)
    };
    issue(&capped, T0);
    let stale = GrantRecord {
        created_at: T0 - 10_000,
        expires_at: None,
        ..user_grant("g5", &c, &alice)
    };
    issue(&stale, T0 - 10_000);
    issue(&user_grant("g6", &other, &alice), T0 + 30);
    // g1 is refreshed at T0 + 50.
    let mut rotate = |_: &RefreshTokenState| Some(rotation(&g1, "g1-1", T0 + 50));
    assert_eq!(
        db.rotate_refresh(&TokenHash::of("g1-r0"), consume_at(T0 + 50), &mut rotate)
            .unwrap(),
        RotateOutcome::Written
    );

    let live = db.live_grants_of_client(&c.id, T0 + 100).unwrap();
    let ids: Vec<&str> = live.iter().map(|o| o.grant.id.as_str()).collect();
    assert_eq!(ids, ["g-cc", "g2", "g0", "g1"], "newest first, then by id");
    assert!(live.iter().all(|o| o.client_name == c.name));
    assert_eq!(live[0].grant, machine);
    assert_eq!(live[0].grant.subject, Subject::Client);
    assert_eq!(live[1].grant, bobs);
    assert_eq!(live[2].last_refreshed_at, None, "never refreshed");
    assert_eq!(live[3].last_refreshed_at, Some(T0 + 50));
    assert_eq!(
        db.live_grants_of_client(&other.id, T0 + 100)
            .unwrap()
            .iter()
            .map(|o| o.grant.id.as_str().to_owned())
            .collect::<Vec<_>>(),
        ["g6"]
    );
    assert!(db
        .live_grants_of_client(&ClientId::parse("nobody").unwrap(), T0 + 100)
        .unwrap()
        .is_empty());
    // Past every token's expiry, nothing of the client holds access any more.
    assert!(db
        .live_grants_of_client(&c.id, T0 + 100_000)
        .unwrap()
        .is_empty());
}

// ---- rotate_refresh: its two modes ------------------------------------------------------

fn consume_at(at: i64) -> RefreshIntent {
    RefreshIntent::Consume { at }
}

/// Both modes, for the rules they share.
const MODES: [RefreshIntent; 2] = [RefreshIntent::Consume { at: T0 + 10 }, RefreshIntent::Keep];

fn rotate_unknown_token_is_not_found_without_deciding(db: &Database) {
    setup_grant(db, "g1");
    for intent in MODES {
        let mut decide = |_: &RefreshTokenState| -> Option<RefreshWrite> {
            panic!("decide must not be called for an unknown token")
        };
        assert_eq!(
            db.rotate_refresh(&TokenHash::of("unknown"), intent, &mut decide)
                .unwrap(),
            RotateOutcome::NotFound,
            "{intent:?}"
        );
    }
}

fn declined_rotation_writes_nothing(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    let before = db.find_refresh_token(&presented).unwrap().unwrap();
    assert_eq!(before.grant, g);
    for intent in MODES {
        let mut seen = None;
        let mut decide = |state: &RefreshTokenState| -> Option<RefreshWrite> {
            seen = Some(state.clone());
            None
        };
        assert_eq!(
            db.rotate_refresh(&presented, intent, &mut decide).unwrap(),
            RotateOutcome::Declined,
            "{intent:?}"
        );
        let seen = seen.expect("decide was called");
        assert_eq!(seen, before, "decide sees the token as it was ({intent:?})");
        assert_eq!(seen.token.hash, presented);
        assert_eq!(seen.token.consumed_at, None);

        let after = db.find_refresh_token(&presented).unwrap().unwrap();
        assert_eq!(
            after, before,
            "nothing changed, the consumption rolled back"
        );
        let would_write = rotation(&g, "declined", T0 + 10);
        assert_eq!(
            db.find_access_token(&would_write.access.hash).unwrap(),
            None
        );
    }
}

fn consume_writes_in_one_step_and_reuse_sees_it_consumed(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    let write = rotation(&g, "one", T0 + 100);
    let mut decide = |state: &RefreshTokenState| {
        assert_eq!(state.token.consumed_at, None);
        assert_eq!(state.grant, g);
        Some(write.clone())
    };
    assert_eq!(
        db.rotate_refresh(&presented, consume_at(T0 + 100), &mut decide)
            .unwrap(),
        RotateOutcome::Written
    );

    let consumed = db.find_refresh_token(&presented).unwrap().unwrap();
    assert_eq!(consumed.token.consumed_at, Some(T0 + 100));
    // The rotation's instant to the millisecond, and its successor, unused so far.
    assert_eq!(consumed.token.consumed_at_ms, Some((T0 + 100) * 1000 + 250));
    let successor = write.successor.as_ref().unwrap();
    assert_eq!(consumed.token.successor, Some(successor.hash));
    assert!(!consumed.successor_used);
    assert_eq!(consumed.token.sealed_response, write.sealed_response);
    let stored = db.find_refresh_token(&successor.hash).unwrap().unwrap();
    assert_eq!(stored.token.consumed_at, None);
    assert_eq!(
        (stored.token.consumed_at_ms, stored.token.successor),
        (None, None)
    );
    assert_eq!(stored.token.issued_at, successor.issued_at);
    assert_eq!(stored.token.expires_at, successor.expires_at);
    assert_eq!(stored.grant, g);
    let stored = db.find_access_token(&write.access.hash).unwrap().unwrap();
    assert_eq!(stored.token, write.access);

    // Presented again, in either mode: (with Consume, the update matches nothing and) the
    // decision is shown the consumed token, with its sealed response for a grace replay,
    // and may decline.
    for intent in [consume_at(T0 + 200), RefreshIntent::Keep] {
        let mut reuse_seen = None;
        let mut decide = |state: &RefreshTokenState| -> Option<RefreshWrite> {
            reuse_seen = Some(state.token.clone());
            None
        };
        assert_eq!(
            db.rotate_refresh(&presented, intent, &mut decide).unwrap(),
            RotateOutcome::Declined,
            "{intent:?}"
        );
        let reuse_seen = reuse_seen.unwrap();
        assert_eq!(reuse_seen.consumed_at, Some(T0 + 100));
        assert_eq!(reuse_seen.consumed_at_ms, Some((T0 + 100) * 1000 + 250));
        assert_eq!(reuse_seen.successor, Some(successor.hash));
        assert_eq!(reuse_seen.sealed_response, write.sealed_response);
    }

    // A consuming write for the consumed token is refused and writes nothing.
    let again = rotation(&g, "again", T0 + 300);
    let mut decide = |_: &RefreshTokenState| Some(again.clone());
    assert!(matches!(
        db.rotate_refresh(&presented, consume_at(T0 + 300), &mut decide),
        Err(StoreError::Other(_))
    ));
    assert_eq!(db.find_access_token(&again.access.hash).unwrap(), None);
    assert_eq!(
        db.find_refresh_token(&presented).unwrap().unwrap(),
        consumed
    );
}

/// RFC 9700 §4.14.2 keeps "information about the relationship": a consumed token knows its
/// successor, and its state shows (to a lookup and to the decision, in either mode) whether
/// that successor has been used since.
fn a_consumed_token_shows_when_its_successor_is_used(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let r0 = TokenHash::of("g1-r0");
    let first = rotation(&g, "first", T0 + 10);
    let r1 = first.successor.as_ref().unwrap().hash;
    let mut once = Some(first.clone());
    db.rotate_refresh(&r0, consume_at(T0 + 10), &mut |_: &_| once.take())
        .unwrap();
    assert!(!db.find_refresh_token(&r0).unwrap().unwrap().successor_used);

    // The successor presented and declined (say, a scope too wide): still unused.
    db.rotate_refresh(&r1, consume_at(T0 + 20), &mut |_: &_| None)
        .unwrap();
    assert!(!db.find_refresh_token(&r0).unwrap().unwrap().successor_used);

    // The successor rotated on: used.
    let second = rotation(&g, "second", T0 + 20);
    let mut once = Some(second.clone());
    assert_eq!(
        db.rotate_refresh(&r1, consume_at(T0 + 20), &mut |_: &_| once.take())
            .unwrap(),
        RotateOutcome::Written
    );
    let r0_state = db.find_refresh_token(&r0).unwrap().unwrap();
    assert!(r0_state.successor_used);
    assert_eq!(r0_state.token.successor, Some(r1));
    assert_eq!(r0_state.token.consumed_at_ms, Some((T0 + 10) * 1000 + 250));
    let r1_state = db.find_refresh_token(&r1).unwrap().unwrap();
    assert!(!r1_state.successor_used, "its own successor is unused");
    assert_eq!(r1_state.token.consumed_at_ms, Some((T0 + 20) * 1000 + 250));
    for intent in [consume_at(T0 + 30), RefreshIntent::Keep] {
        let mut seen = None;
        let mut decide = |state: &RefreshTokenState| -> Option<RefreshWrite> {
            seen = Some(state.clone());
            None
        };
        db.rotate_refresh(&r0, intent, &mut decide).unwrap();
        assert_eq!(seen.as_ref(), Some(&r0_state), "{intent:?}");
    }
}

fn keep_never_consumes(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    for n in 0..2 {
        let write = RefreshWrite {
            consume: false,
            consumed_at_ms: (T0 + 5) * 1000,
            sealed_response: None,
            access: access(&format!("kept {n}"), &g, T0 + 5),
            successor: None,
        };
        let mut decide = |state: &RefreshTokenState| {
            assert_eq!(state.token.consumed_at, None);
            Some(write.clone())
        };
        assert_eq!(
            db.rotate_refresh(&presented, RefreshIntent::Keep, &mut decide)
                .unwrap(),
            RotateOutcome::Written
        );
        assert!(db.find_access_token(&write.access.hash).unwrap().is_some());
    }
    let token = db.find_refresh_token(&presented).unwrap().unwrap().token;
    assert_eq!(token.consumed_at, None);
    assert_eq!(token.sealed_response, None);
}

fn a_write_against_the_declared_intent_writes_nothing(db: &Database) {
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    let before = db.find_refresh_token(&presented).unwrap().unwrap();
    // Keep declared, consume written.
    let write = rotation(&g, "against keep", T0 + 10);
    let mut decide = |_: &RefreshTokenState| Some(write.clone());
    assert!(matches!(
        db.rotate_refresh(&presented, RefreshIntent::Keep, &mut decide),
        Err(StoreError::Other(_))
    ));
    assert_eq!(db.find_access_token(&write.access.hash).unwrap(), None);
    // Consume declared, keep written.
    let mut keep = rotation(&g, "against consume", T0 + 10);
    keep.consume = false;
    let mut decide = |_: &RefreshTokenState| Some(keep.clone());
    assert!(matches!(
        db.rotate_refresh(&presented, consume_at(T0 + 10), &mut decide),
        Err(StoreError::Other(_))
    ));
    assert_eq!(db.find_access_token(&keep.access.hash).unwrap(), None);
    // Consume declared at one time, the access token issued at another.
    let skewed = rotation(&g, "skewed", T0 + 11);
    let mut decide = |_: &RefreshTokenState| Some(skewed.clone());
    assert!(matches!(
        db.rotate_refresh(&presented, consume_at(T0 + 10), &mut decide),
        Err(StoreError::Other(_))
    ));
    assert_eq!(db.find_access_token(&skewed.access.hash).unwrap(), None);
    assert_eq!(db.find_refresh_token(&presented).unwrap().unwrap(), before);
}

/// THE race of the refresh flow: many requests present the same refresh token at once to
/// rotate it. Exactly one may consume it; every other one must see it consumed.
fn concurrent_rotations_have_exactly_one_winner(db: &Database) {
    const CALLERS: usize = 24;
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    let outcomes = race(CALLERS, |caller| {
        let write = rotation(&g, &format!("caller {caller}"), T0 + 10);
        let mut decide = |state: &RefreshTokenState| {
            // Hold the transaction open a moment so that the other callers pile up behind
            // it (or, were the locking wrong, read it unconsumed).
            std::thread::sleep(Duration::from_millis(10));
            state.token.consumed_at.is_none().then(|| write.clone())
        };
        db.rotate_refresh(&presented, consume_at(T0 + 10), &mut decide)
    });
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| *o == RotateOutcome::Written)
        .map(|(caller, _)| *caller)
        .collect();
    let declined = outcomes
        .iter()
        .filter(|(_, o)| *o == RotateOutcome::Declined)
        .count();
    assert_eq!(winners.len(), 1, "exactly one winner: {outcomes:?}");
    assert_eq!(declined, CALLERS - 1);

    // Only the winner's tokens exist.
    for caller in 0..CALLERS {
        let write = rotation(&g, &format!("caller {caller}"), T0 + 10);
        let successor = write.successor.unwrap().hash;
        let is_winner = caller == winners[0];
        assert_eq!(
            db.find_refresh_token(&successor).unwrap().is_some(),
            is_winner
        );
        assert_eq!(
            db.find_access_token(&write.access.hash).unwrap().is_some(),
            is_winner
        );
    }
    let consumed = db.find_refresh_token(&presented).unwrap().unwrap().token;
    assert_eq!(consumed.consumed_at, Some(T0 + 10));
    assert_eq!(
        consumed.sealed_response,
        Some(format!("sealed caller {}", winners[0]).into_bytes())
    );
}

/// Without rotation nothing is consumed, so concurrent refreshes of one token all see it
/// live and all write.
fn concurrent_keeps_all_write_and_never_consume(db: &Database) {
    const CALLERS: usize = 24;
    let (_c, _u, g) = setup_grant(db, "g1");
    let presented = TokenHash::of("g1-r0");
    let kept = |caller: usize| RefreshWrite {
        consume: false,
        consumed_at_ms: (T0 + 10) * 1000,
        sealed_response: None,
        access: access(&format!("kept by {caller}"), &g, T0 + 10),
        successor: None,
    };
    let outcomes = race(CALLERS, |caller| {
        let write = kept(caller);
        let mut decide = |state: &RefreshTokenState| {
            std::thread::sleep(Duration::from_millis(10));
            state.token.consumed_at.is_none().then(|| write.clone())
        };
        db.rotate_refresh(&presented, RefreshIntent::Keep, &mut decide)
    });
    assert!(
        outcomes.iter().all(|(_, o)| *o == RotateOutcome::Written),
        "every caller writes: {outcomes:?}"
    );
    for caller in 0..CALLERS {
        assert!(db
            .find_access_token(&kept(caller).access.hash)
            .unwrap()
            .is_some());
    }
    let token = db.find_refresh_token(&presented).unwrap().unwrap().token;
    assert_eq!(token.consumed_at, None);
}

/// Runs `call(caller)` on `callers` threads released at once; every call must succeed.
/// Returns each caller's outcome.
fn race(
    callers: usize,
    call: impl Fn(usize) -> Result<RotateOutcome, StoreError> + Sync,
) -> Vec<(usize, RotateOutcome)> {
    let start = Barrier::new(callers);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for caller in 0..callers {
            let (start, outcomes, call) = (&start, &outcomes, &call);
            scope.spawn(move || {
                start.wait();
                let outcome = call(caller);
                outcomes.lock().unwrap().push((caller, outcome));
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let errors: Vec<_> = outcomes.iter().filter(|(_, o)| o.is_err()).collect();
    assert!(errors.is_empty(), "no caller may fail: {errors:?}");
    outcomes
        .into_iter()
        .map(|(caller, outcome)| (caller, outcome.unwrap()))
        .collect()
}
