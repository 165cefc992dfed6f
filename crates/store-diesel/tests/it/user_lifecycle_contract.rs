//! The `UserStore` lifecycle contract, run against both backends: a password change and a
//! disabling each replace the session stamp, revoke the user's live grants and delete their
//! unredeemed authorization codes in ONE transaction (all or nothing, and with no gap a
//! concurrent code exchange could slip a live grant through); logout's stamp replacement
//! touches nothing else; a redeem shows the decision the code's user as they are now.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use grantd_testkit::contract;

use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use grantd_ports::{
    AccessToken, AuthorizationCodeRecord, AuthorizationStore, Client, ClientId, ClientStore,
    CodeWrite, GrantId, GrantRecord, GrantType, Issuance, LifetimeOverrides, RedeemOutcome,
    RevokedAccess, ScopeSet, SecretHash, SessionStamp, StoreError, Subject, TokenHash, TokenStore,
    User, UserId, UserProfile, UserStore, Username,
};
use grantd_store_diesel::{Backend, Database};
use grantd_testkit::database::TestDb;

contract!(
    password_change_revokes_grants_and_codes_and_replaces_the_stamp,
    disabling_revokes_grants_and_codes_and_enabling_keeps_the_new_stamp,
    changes_to_a_missing_user_change_nothing,
    a_new_session_stamp_changes_nothing_else,
    a_profile_update_changes_the_profile_only,
    redeem_shows_the_decision_the_codes_user_as_now,
    a_password_change_during_an_exchange_revokes_the_grant_it_creates,
);

const T0: i64 = 1_700_000_000;

fn stamp(value: &str) -> SessionStamp {
    SessionStamp::parse(value).unwrap()
}

fn user(id: &str, username: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        username: Username::parse(username).unwrap(),
        password: SecretHash::from_stored(format!("$2b$04$password-of-{id}")),
        disabled: false,
        session_stamp: stamp(&format!("stamp-of-{id}")),
        profile: Default::default(),
        created_at: T0,
    }
}

/// The client `web`, and the users alice (`u1`) and bob (`u2`).
fn setup(db: &Database) -> (User, User) {
    db.insert_client(&Client {
        id: ClientId::parse("web").unwrap(),
        name: "Web".into(),
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read").unwrap(),
        access_token_format: None,
        default_scopes: None,
        redirect_uris: vec!["https://web.example/cb".into()],
        post_logout_redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        created_at: T0,
        require_dpop: false,
        admin: false,
    })
    .unwrap();
    let (alice, bob) = (user("u1", "alice"), user("u2", "bob"));
    db.insert_user(&alice).unwrap();
    db.insert_user(&bob).unwrap();
    (alice, bob)
}

fn issuance(grant: &str, owner: &User) -> Issuance {
    let id = GrantId::parse(grant).unwrap();
    Issuance {
        grant: GrantRecord {
            id: id.clone(),
            client_id: ClientId::parse("web").unwrap(),
            subject: Subject::User {
                id: owner.id.clone(),
                username: owner.username.clone(),
            },
            scope: ScopeSet::parse("read").unwrap(),
            resources: grantd_ports::ResourceSet::empty(),
            created_at: T0,
            expires_at: None,
            revoked_at: None,
            auth_time: None,
            dpop_jkt: None,
        },
        access: AccessToken {
            hash: TokenHash::of(&format!("{grant}-access")),
            grant_id: id,
            scope: ScopeSet::parse("read").unwrap(),
            audience: vec![],
            issued_at: T0,
            expires_at: T0 + 600,
            revoked_at: None,
            dpop_jkt: None,
        },
        refresh: None,
    }
}

fn code(name: &str, owner: &User) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of(name),
        client_id: ClientId::parse("web").unwrap(),
        user_id: owner.id.clone(),
        username: owner.username.clone(),
        redirect_uri: None,
        scope: ScopeSet::parse("read").unwrap(),
        resources: grantd_ports::ResourceSet::empty(),
        challenge: None,
        issued_at: T0,
        expires_at: T0 + 60,
        redeemed_at: None,
        grant_id: None,
        nonce: None,
        auth_time: None,
        dpop_jkt: None,
    }
}

/// Alice: two live grants, one revoked already, an unredeemed code `a-open` and a code
/// `a-used` redeemed into grant `a-from-code`. Bob: a live grant and an unredeemed code.
fn populate(db: &Database, alice: &User, bob: &User) {
    db.issue(&issuance("a1", alice)).unwrap();
    db.issue(&issuance("a2", alice)).unwrap();
    db.issue(&issuance("a-old", alice)).unwrap();
    assert!(db
        .revoke_grant(&GrantId::parse("a-old").unwrap(), T0 + 1)
        .unwrap());
    db.issue(&issuance("b1", bob)).unwrap();
    db.insert_code(&code("a-open", alice)).unwrap();
    db.insert_code(&code("a-used", alice)).unwrap();
    db.insert_code(&code("b-open", bob)).unwrap();
    let redeemed = issuance("a-from-code", alice);
    let outcome = db
        .redeem_code(
            &TokenHash::of("a-used"),
            &mut |_: &AuthorizationCodeRecord, _: Option<&User>| {
                CodeWrite::Redeem(Box::new(redeemed.clone()))
            },
        )
        .unwrap();
    assert_eq!(outcome, RedeemOutcome::Redeemed);
}

/// When the grant was revoked, through its access token.
fn revoked_at(db: &Database, grant: &str) -> Option<i64> {
    db.find_access_token(&TokenHash::of(&format!("{grant}-access")))
        .unwrap()
        .unwrap()
        .grant
        .revoked_at
}

/// The stored code and the user the redeem shows with it, through a declining redeem.
fn peek(db: &Database, name: &str) -> Option<(AuthorizationCodeRecord, Option<User>)> {
    let mut seen = None;
    let outcome = db
        .redeem_code(
            &TokenHash::of(name),
            &mut |c: &AuthorizationCodeRecord, u: Option<&User>| {
                seen = Some((c.clone(), u.cloned()));
                CodeWrite::Decline
            },
        )
        .unwrap();
    assert_ne!(outcome, RedeemOutcome::Redeemed);
    seen
}

fn stored(db: &Database, who: &User) -> User {
    db.find_user_by_username(&who.username).unwrap().unwrap()
}

/// Everything of alice's that a change must end has ended at `at`; bob's is untouched.
fn assert_alice_ended(db: &Database, at: i64) {
    assert_eq!(revoked_at(db, "a1"), Some(at));
    assert_eq!(revoked_at(db, "a2"), Some(at));
    assert_eq!(revoked_at(db, "a-from-code"), Some(at));
    assert_eq!(
        revoked_at(db, "a-old"),
        Some(T0 + 1),
        "kept its first revocation"
    );
    assert_eq!(peek(db, "a-open"), None, "the unredeemed code is gone");
    let (used, _) = peek(db, "a-used").unwrap();
    assert!(
        used.redeemed_at.is_some(),
        "a redeemed mark stays for reuse detection"
    );
    assert_eq!(revoked_at(db, "b1"), None);
    assert!(peek(db, "b-open").is_some());
}

fn password_change_revokes_grants_and_codes_and_replaces_the_stamp(db: &Database) {
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    let password = SecretHash::from_stored("$2b$04$new".into());
    let ended = db
        .change_password(&alice.id, &password, &stamp("new-stamp"), T0 + 50)
        .unwrap();
    assert_eq!(
        ended,
        Some(RevokedAccess {
            grants: 3,
            codes: 1
        })
    );
    let now = stored(db, &alice);
    assert_eq!(now.password, password);
    assert_eq!(now.session_stamp, stamp("new-stamp"));
    assert!(!now.disabled);
    assert_alice_ended(db, T0 + 50);
    assert_eq!(stored(db, &bob), bob);
}

fn disabling_revokes_grants_and_codes_and_enabling_keeps_the_new_stamp(db: &Database) {
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    let ended = db
        .disable_user(&alice.id, &stamp("off-stamp"), T0 + 70)
        .unwrap();
    assert_eq!(
        ended,
        Some(RevokedAccess {
            grants: 3,
            codes: 1
        })
    );
    let now = stored(db, &alice);
    assert!(now.disabled);
    assert_eq!(now.session_stamp, stamp("off-stamp"));
    assert_eq!(now.password, alice.password);
    assert_alice_ended(db, T0 + 70);

    assert!(db.enable_user(&alice.id).unwrap());
    let now = stored(db, &alice);
    assert!(!now.disabled);
    assert_eq!(
        now.session_stamp,
        stamp("off-stamp"),
        "no old session revives"
    );
    assert_eq!(stored(db, &bob), bob);
}

fn changes_to_a_missing_user_change_nothing(db: &Database) {
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    let nobody = UserId::parse("nobody").unwrap();
    let password = SecretHash::from_stored("$2b$04$new".into());
    assert_eq!(
        db.change_password(&nobody, &password, &stamp("x"), T0 + 5)
            .unwrap(),
        None
    );
    assert_eq!(db.disable_user(&nobody, &stamp("x"), T0 + 5).unwrap(), None);
    assert!(!db.enable_user(&nobody).unwrap());
    assert!(!db.set_session_stamp(&nobody, &stamp("x")).unwrap());
    assert!(!db
        .set_user_profile(&nobody, &UserProfile::default())
        .unwrap());
    assert_eq!(revoked_at(db, "a1"), None);
    assert!(peek(db, "a-open").is_some());
}

fn a_new_session_stamp_changes_nothing_else(db: &Database) {
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    assert!(db
        .set_session_stamp(&alice.id, &stamp("after-logout"))
        .unwrap());
    assert_eq!(
        stored(db, &alice),
        User {
            session_stamp: stamp("after-logout"),
            ..alice
        }
    );
    assert_eq!(
        revoked_at(db, "a1"),
        None,
        "logout keeps the applications' grants"
    );
    assert!(peek(db, "a-open").is_some());
    assert_eq!(stored(db, &bob), bob);
}

/// The profile claims are replaced whole (a value set, another cleared), and nothing else
/// changes: no stamp (sessions go on), no grant, no code, no other user.
fn a_profile_update_changes_the_profile_only(db: &Database) {
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    let profile = UserProfile {
        name: Some("Alice Liddell".into()),
        email: Some("Alice@Example.com".into()),
        email_verified: true,
    };
    assert!(db.set_user_profile(&alice.id, &profile).unwrap());
    let expected = User {
        profile: profile.clone(),
        ..alice.clone()
    };
    assert_eq!(stored(db, &alice), expected);
    let renamed = UserProfile {
        name: Some("Älice 李".into()),
        email: None,
        email_verified: false,
    };
    assert!(db.set_user_profile(&alice.id, &renamed).unwrap());
    assert_eq!(
        stored(db, &alice).profile,
        renamed,
        "cleared values read back as None"
    );
    assert_eq!(stored(db, &alice).session_stamp, alice.session_stamp);
    assert_eq!(revoked_at(db, "a1"), None, "grants are kept");
    assert!(peek(db, "a-open").is_some(), "codes are kept");
    assert_eq!(stored(db, &bob), bob);
}

fn redeem_shows_the_decision_the_codes_user_as_now(db: &Database) {
    let (alice, _bob) = setup(db);
    db.insert_code(&code("c1", &alice)).unwrap();
    assert_eq!(peek(db, "c1").unwrap().1, Some(alice.clone()));
    // Disabled by a path that left the code (e.g. by hand): the decision sees it.
    db.disable_user(&alice.id, &stamp("s2"), T0).unwrap();
    db.insert_code(&code("c2", &alice)).unwrap();
    let (_, shown) = peek(db, "c2").unwrap();
    assert!(shown.unwrap().disabled);
}

/// An exchange holds its code (and its transaction) open while the password changes: the
/// change waits for it and then revokes the grant the exchange created, on both backends.
fn a_password_change_during_an_exchange_revokes_the_grant_it_creates(db: &Database) {
    let (alice, _bob) = setup(db);
    db.insert_code(&code("c1", &alice)).unwrap();
    let (inside, entered) = mpsc::channel();
    let outcome = std::thread::scope(|scope| {
        let exchange = scope.spawn(|| {
            let write = issuance("racing", &alice);
            db.redeem_code(
                &TokenHash::of("c1"),
                &mut |_: &AuthorizationCodeRecord, _: Option<&User>| {
                    inside.send(()).unwrap();
                    // Long enough for the change below to start and wait on this one.
                    std::thread::sleep(Duration::from_millis(400));
                    CodeWrite::Redeem(Box::new(write.clone()))
                },
            )
        });
        entered.recv().unwrap();
        let password = SecretHash::from_stored("$2b$04$new".into());
        let ended = db
            .change_password(&alice.id, &password, &stamp("s2"), T0 + 9)
            .unwrap();
        assert_eq!(ended.map(|e| e.grants), Some(1), "{ended:?}");
        exchange.join().unwrap()
    });
    assert_eq!(outcome.unwrap(), RedeemOutcome::Redeemed);
    assert_eq!(revoked_at(db, "racing"), Some(T0 + 9));
}

/// A trigger that makes every UPDATE of `users` fail: the last statement of a change.
fn refuse_user_updates(test_db: &TestDb) {
    match test_db.backend() {
        Backend::Postgres => PgConnection::establish(test_db.url())
            .unwrap()
            .batch_execute(
                "CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
                 CREATE TRIGGER refuse_update BEFORE UPDATE ON users \
                 FOR EACH ROW EXECUTE FUNCTION refuse_update();",
            )
            .unwrap(),
        Backend::Sqlite => {
            SqliteConnection::establish(test_db.url().trim_start_matches("sqlite://"))
                .unwrap()
                .batch_execute(
                    "CREATE TRIGGER refuse_update BEFORE UPDATE ON users \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
                )
                .unwrap()
        }
    }
}

/// The user's row fails to update after the codes were deleted and the grants revoked:
/// the whole change rolls back, so nothing is half done.
fn a_failed_change_is_all_or_nothing(test_db: TestDb) {
    let db: &Database = &test_db;
    let (alice, bob) = setup(db);
    populate(db, &alice, &bob);
    refuse_user_updates(&test_db);
    let password = SecretHash::from_stored("$2b$04$new".into());
    let failed = db.change_password(&alice.id, &password, &stamp("s2"), T0 + 50);
    assert!(matches!(failed, Err(StoreError::Other(_))), "{failed:?}");
    let failed = db.disable_user(&alice.id, &stamp("s2"), T0 + 50);
    assert!(matches!(failed, Err(StoreError::Other(_))), "{failed:?}");
    assert_eq!(stored(db, &alice), alice);
    assert_eq!(revoked_at(db, "a1"), None);
    assert_eq!(revoked_at(db, "a-from-code"), None);
    assert!(peek(db, "a-open").is_some());
}

#[test]
fn postgres_a_failed_change_is_all_or_nothing() {
    a_failed_change_is_all_or_nothing(grantd_testkit::database::postgres());
}

#[test]
fn sqlite_a_failed_change_is_all_or_nothing() {
    a_failed_change_is_all_or_nothing(grantd_testkit::database::sqlite());
}
