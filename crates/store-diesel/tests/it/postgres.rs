//! Postgres-only behaviour: and timeouts and an
//! unreachable server surfacing as `Unavailable`.

// Test code: a panic is a failed test, which is what an unexpected Err should be.

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use grantd_ports::{
    ClientId, ClientStore, GrantId, GrantRecord, Issuance, ScopeSet, StoreError, Subject,
    TokenHash, TokenStore,
};
use grantd_store_diesel::{Backend, Database, DbError, DbOptions};
use grantd_testkit::fixtures::minimal_client;

#[test]
fn statement_timeout_is_unavailable() {
    let test_db = grantd_testkit::database::postgres();
    let c = minimal_client("app");
    test_db.insert_client(&c).unwrap();
    let grant = GrantRecord {
        id: GrantId::parse("g1").unwrap(),
        client_id: c.id.clone(),
        subject: Subject::Client,
        scope: ScopeSet::empty(),
        resources: grantd_ports::ResourceSet::empty(),
        created_at: 0,
        expires_at: None,
        revoked_at: None,
        auth_time: None,
        dpop_jkt: None,
    };
    test_db
        .issue(&Issuance {
            grant: grant.clone(),
            access: grantd_ports::AccessToken {
                hash: TokenHash::of("a"),
                grant_id: grant.id.clone(),
                scope: ScopeSet::empty(),
                audience: vec![],
                issued_at: 0,
                expires_at: 60,
                revoked_at: None,
                dpop_jkt: None,
            },
            refresh: None,
        })
        .unwrap();
    let impatient = Database::connect(
        test_db.url(),
        &DbOptions {
            statement_timeout: Duration::from_millis(300),
            ..grantd_testkit::database::options()
        },
    )
    .unwrap();

    let mut locker = PgConnection::establish(test_db.url()).unwrap();
    locker
        .transaction(|locker| {
            diesel::sql_query("SELECT id FROM grants WHERE id = 'g1' FOR UPDATE").execute(locker)?;
            let blocked = impatient.revoke_grant(&grant.id, 10);
            assert!(
                matches!(&blocked, Err(StoreError::Unavailable(m)) if m.contains("statement timeout")),
                "{blocked:?}"
            );
            // Reads do not wait for row locks.
            assert!(impatient
                .find_access_token(&TokenHash::of("a"))
                .unwrap()
                .is_some());
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        })
        .unwrap_err();
    assert!(impatient.revoke_grant(&grant.id, 10).unwrap());
}

#[test]
fn unreachable_server_is_unavailable_not_a_start_up_failure() {
    let options = DbOptions {
        connect_timeout: Duration::from_millis(500),
        ..DbOptions::default()
    };
    // Nothing listens on port 1: the pool still builds, calls fail as Unavailable.
    let db = Database::connect("postgres://postgres@127.0.0.1:1/grantd", &options).unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    assert!(matches!(db.ping(), Err(StoreError::Unavailable(_))));
    assert!(matches!(
        db.find_client(&ClientId::parse("x").unwrap()),
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(db.migrate(), Err(DbError::Unavailable(_))));
}

#[test]
fn postgresql_scheme_is_postgres_too() {
    let test_db = grantd_testkit::database::postgres();
    let url = test_db.url().replacen("postgres://", "postgresql://", 1);
    let db = Database::connect(&url, &grantd_testkit::database::options()).unwrap();
    assert_eq!(db.backend(), Backend::Postgres);
    db.ping().unwrap();
}
