//! The `Housekeeping` contract on both backends: `prune` deletes expired tokens and ended
//! grants in batches, and keeps a consumed refresh token (the reuse-detection record)
//! until its grant ends.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use grantd_testkit::contract;

use grantd_ports::{
    AccessToken, AuthorizationCodeRecord, AuthorizationStore, Client, ClientId, ClientStore,
    CodeWrite, GrantId, GrantRecord, GrantType, Housekeeping, Issuance, LifetimeOverrides,
    NewRefreshToken, PrunePace, PruneReport, RedeemOutcome, RefreshIntent, RefreshWrite, ScopeSet,
    Subject, TokenHash, TokenStore, User, UserId, UserStore, Username,
};
use grantd_store_diesel::Database;

contract!(
    prune_deletes_expired_tokens_and_ended_grants_in_batches,
    prune_keeps_consumed_refresh_tokens_until_their_grant_ends,
    prune_of_nothing_reports_zero,
    a_paced_prune_deletes_what_an_unpaced_one_does,
    prune_deletes_expired_codes_but_keeps_a_redeemed_one_while_its_grant_lives,
);

const T0: i64 = 1_700_000_000;

fn seed(db: &Database) {
    db.insert_client(&Client {
        id: ClientId::parse("app").unwrap(),
        name: "app".into(),
        secret: None,
        secret_version: 0,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read").unwrap(),
        default_scopes: None,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        access_token_format: None,
        created_at: T0,
        require_dpop: false,
        admin: false,
    })
    .unwrap();
    db.insert_user(&User {
        id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: grantd_ports::SecretHash::from_stored("$2b$04$x".into()),
        disabled: false,
        session_stamp: grantd_ports::SessionStamp::parse("stamp").unwrap(),
        profile: Default::default(),
        created_at: T0,
    })
    .unwrap();
}

fn access(name: &str, grant: &str, expires_at: i64) -> AccessToken {
    AccessToken {
        hash: TokenHash::of(name),
        grant_id: GrantId::parse(grant).unwrap(),
        scope: ScopeSet::parse("read").unwrap(),
        audience: vec![],
        issued_at: T0,
        expires_at,
        revoked_at: None,
        dpop_jkt: None,
    }
}

fn refresh(name: &str, grant: &str, expires_at: i64) -> NewRefreshToken {
    NewRefreshToken {
        hash: TokenHash::of(name),
        grant_id: GrantId::parse(grant).unwrap(),
        issued_at: T0,
        expires_at,
    }
}

/// A grant `id` (absolute expiry `expires_at`) with access token `<id>-a` and refresh
/// token `<id>-r`.
fn grant(db: &Database, id: &str, expires_at: i64, access_exp: i64, refresh_exp: i64) {
    db.issue(&Issuance {
        grant: GrantRecord {
            id: GrantId::parse(id).unwrap(),
            client_id: ClientId::parse("app").unwrap(),
            subject: Subject::User {
                id: UserId::parse("u1").unwrap(),
                username: Username::parse("alice").unwrap(),
            },
            scope: ScopeSet::parse("read").unwrap(),
            resources: grantd_ports::ResourceSet::empty(),
            created_at: T0,
            expires_at: Some(expires_at),
            revoked_at: None,
            auth_time: None,
            dpop_jkt: None,
        },
        access: access(&format!("{id}-a"), id, access_exp),
        refresh: Some(refresh(&format!("{id}-r"), id, refresh_exp)),
    })
    .unwrap();
}

/// Rotates `<id>-r` into `<id>-r2` (with access token `<id>-a2`).
fn rotate(db: &Database, id: &str, access_exp: i64, refresh_exp: i64) {
    let write = RefreshWrite {
        consume: true,
        consumed_at_ms: T0 * 1000,
        sealed_response: None,
        access: access(&format!("{id}-a2"), id, access_exp),
        successor: Some(refresh(&format!("{id}-r2"), id, refresh_exp)),
    };
    let mut once = Some(write);
    let consume = RefreshIntent::Consume { at: T0 };
    db.rotate_refresh(&TokenHash::of(&format!("{id}-r")), consume, &mut |_: &_| {
        once.take()
    })
    .unwrap();
}

fn refresh_exists(db: &Database, name: &str) -> bool {
    db.find_refresh_token(&TokenHash::of(name))
        .unwrap()
        .is_some()
}

fn prune_deletes_expired_tokens_and_ended_grants_in_batches(db: &Database) {
    seed(db);
    // Live: rotated once, its successor still valid at `now`.
    grant(db, "live", T0 + 86_400, T0 + 600, T0 + 3_600);
    rotate(db, "live", T0 + 700, T0 + 3_700);
    // Capped: the grant's absolute expiry has passed.
    grant(db, "capped", T0 + 500, T0 + 600, T0 + 3_600);
    // Idle: within its cap, but nothing of it can be used any more.
    grant(db, "idle", T0 + 86_400, T0 + 600, T0 + 3_600);
    let now = T0 + 3_650;

    // A batch of 1 exercises the loop: every statement runs until a batch comes back short.
    let report = db.prune(now, PrunePace::unpaced(1)).unwrap();
    assert_eq!(
        report,
        PruneReport {
            grants: 2,
            access_tokens: 4,
            refresh_tokens: 2,
            authorization_codes: 0,
            auth_failures: 0,
            dpop_jtis: 0,
        }
    );
    assert!(refresh_exists(db, "live-r2"), "a live token survives");
    assert!(
        refresh_exists(db, "live-r"),
        "the consumed token of a live grant is the reuse-detection record"
    );
    assert!(!refresh_exists(db, "capped-r"));
    assert!(!refresh_exists(db, "idle-r"));
    assert!(db
        .find_access_token(&TokenHash::of("live-a2"))
        .unwrap()
        .is_none());
    assert_eq!(
        db.prune(now, PrunePace::unpaced(1000)).unwrap(),
        PruneReport::default()
    );
}

fn prune_keeps_consumed_refresh_tokens_until_their_grant_ends(db: &Database) {
    seed(db);
    grant(db, "g", T0 + 86_400, T0 + 600, T0 + 3_600);
    rotate(db, "g", T0 + 700, T0 + 3_700);
    // The consumed token has expired, its successor has not: the record stays.
    db.prune(T0 + 3_650, PrunePace::unpaced(1000)).unwrap();
    let consumed = db
        .find_refresh_token(&TokenHash::of("g-r"))
        .unwrap()
        .unwrap();
    assert!(consumed.token.consumed_at.is_some());
    // Once the successor has expired the grant has ended, and the record goes with it.
    let report = db.prune(T0 + 3_800, PrunePace::unpaced(1000)).unwrap();
    assert_eq!((report.refresh_tokens, report.grants), (1, 1));
    assert!(!refresh_exists(db, "g-r"));
    assert!(!refresh_exists(db, "g-r2"));
}

/// The pace only spaces the statements out: the same rows go, and only those.
fn a_paced_prune_deletes_what_an_unpaced_one_does(db: &Database) {
    seed(db);
    grant(db, "live", T0 + 86_400, T0 + 600, T0 + 7_200);
    grant(db, "capped", T0 + 500, T0 + 600, T0 + 3_600);
    let pace = PrunePace {
        batch: 1,
        pause_percent: 300,
    };
    let report = db.prune(T0 + 3_650, pace).unwrap();
    assert_eq!(
        (report.grants, report.access_tokens, report.refresh_tokens),
        (1, 2, 1)
    );
    assert!(refresh_exists(db, "live-r"));
    assert!(!refresh_exists(db, "capped-r"));
}

fn prune_of_nothing_reports_zero(db: &Database) {
    assert_eq!(
        db.prune(T0, PrunePace::unpaced(1000)).unwrap(),
        PruneReport::default()
    );
    assert_eq!(PruneReport::default().total(), 0);
}

fn code(name: &str, expires_at: i64) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of(name),
        client_id: ClientId::parse("app").unwrap(),
        user_id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        redirect_uri: None,
        scope: ScopeSet::parse("read").unwrap(),
        resources: grantd_ports::ResourceSet::empty(),
        challenge: None,
        issued_at: T0,
        expires_at,
        redeemed_at: None,
        grant_id: None,
        nonce: None,
        auth_time: None,
        dpop_jkt: None,
    }
}

/// Whether a code with this name is stored (a redeem that declines writes nothing).
fn code_exists(db: &Database, name: &str) -> bool {
    let outcome = db
        .redeem_code(&TokenHash::of(name), &mut |_: &AuthorizationCodeRecord,
                                                 _: Option<
            &grantd_ports::User,
        >| { CodeWrite::Decline })
        .unwrap();
    outcome != RedeemOutcome::NotFound
}

fn prune_deletes_expired_codes_but_keeps_a_redeemed_one_while_its_grant_lives(db: &Database) {
    seed(db);
    db.insert_code(&code("unused", T0 + 60)).unwrap();
    db.insert_code(&code("used", T0 + 60)).unwrap();
    // Redeeming "used" creates grant "g" (tokens valid until T0+600 and T0+3600).
    let grant_record = GrantRecord {
        id: GrantId::parse("g").unwrap(),
        client_id: ClientId::parse("app").unwrap(),
        subject: Subject::User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
        },
        scope: ScopeSet::parse("read").unwrap(),
        resources: grantd_ports::ResourceSet::empty(),
        created_at: T0,
        expires_at: Some(T0 + 86_400),
        revoked_at: None,
        auth_time: None,
        dpop_jkt: None,
    };
    let issuance = Issuance {
        grant: grant_record,
        access: access("g-a", "g", T0 + 600),
        refresh: Some(refresh("g-r", "g", T0 + 3_600)),
    };
    let outcome = db
        .redeem_code(
            &TokenHash::of("used"),
            &mut |_: &AuthorizationCodeRecord, _: Option<&grantd_ports::User>| {
                CodeWrite::Redeem(Box::new(issuance.clone()))
            },
        )
        .unwrap();
    assert_eq!(outcome, RedeemOutcome::Redeemed);

    let report = db.prune(T0 + 100, PrunePace::unpaced(1000)).unwrap();
    assert_eq!(report.authorization_codes, 1);
    assert!(!code_exists(db, "unused"));
    assert!(
        code_exists(db, "used"),
        "a redeemed code guards its grant against a replay (RFC 6749 §4.1.2)"
    );
    // The grant has ended: the code has nothing left to guard.
    let report = db.prune(T0 + 4_000, PrunePace::unpaced(1000)).unwrap();
    assert_eq!((report.grants, report.authorization_codes), (1, 1));
    assert!(!code_exists(db, "used"));
}
