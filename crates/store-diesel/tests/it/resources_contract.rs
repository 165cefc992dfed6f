//! The stored RFC 8707 resources, run against both backends (`postgres::*`, `sqlite::*`):
//! a grant's resources and an access token's audience round-trip through every way they
//! are written (issue, rotation, code exchange) and read (lookups, Postgres' consuming
//! update), a code carries its resources to the exchange, and an audience the columns
//! cannot hold writes nothing.

use grantd_testkit::contract;

use grantd_ports::{
    AccessToken, AuthorizationCodeRecord, AuthorizationStore, Client, ClientId, ClientStore,
    CodeWrite, GrantId, GrantRecord, GrantType, Issuance, LifetimeOverrides, NewRefreshToken,
    RedeemOutcome, RefreshIntent, RefreshTokenState, RefreshWrite, ResourceSet, RotateOutcome,
    ScopeSet, SecretHash, SessionStamp, StoreError, Subject, TokenHash, TokenStore, User, UserId,
    UserStore, Username,
};
use grantd_store_diesel::Database;

contract!(
    a_grants_resources_and_its_tokens_audiences_round_trip,
    a_rotation_reads_the_grants_resources_and_records_a_narrower_audience,
    a_codes_resources_round_trip_and_reach_the_grant_it_creates,
    an_audience_the_columns_cannot_hold_writes_nothing,
);

const T0: i64 = 1_700_000_000;
const API: &str = "https://api.example/";
const FILES: &str = "https://files.example/v1?tenant=a";

fn resources(uris: &[&str]) -> ResourceSet {
    ResourceSet::from_uris(uris).unwrap()
}

fn setup(db: &Database) -> (Client, User) {
    let client = Client {
        id: ClientId::parse("app").unwrap(),
        name: "App".into(),
        secret: Some(SecretHash::from_stored("$2b$04$x".into())),
        secret_version: 1,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::parse("read write").unwrap(),
        default_scopes: None,
        redirect_uris: vec!["https://app.example/cb".into()],
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
        password: SecretHash::from_stored("$2b$04$y".into()),
        disabled: false,
        session_stamp: SessionStamp::parse("stamp").unwrap(),
        profile: Default::default(),
        created_at: T0,
    };
    db.insert_client(&client).unwrap();
    db.insert_user(&user).unwrap();
    (client, user)
}

fn grant(id: &str, resources: ResourceSet) -> GrantRecord {
    GrantRecord {
        id: GrantId::parse(id).unwrap(),
        client_id: ClientId::parse("app").unwrap(),
        subject: Subject::User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
        },
        scope: ScopeSet::parse("read write").unwrap(),
        resources,
        created_at: T0,
        expires_at: Some(T0 + 86_400),
        revoked_at: None,
        auth_time: None,
        dpop_jkt: None,
    }
}

fn access(name: &str, grant: &GrantRecord, audience: &[&str], at: i64) -> AccessToken {
    AccessToken {
        hash: TokenHash::of(name),
        grant_id: grant.id.clone(),
        scope: ScopeSet::parse("read").unwrap(),
        audience: audience.iter().map(|a| (*a).to_owned()).collect(),
        issued_at: at,
        expires_at: at + 600,
        revoked_at: None,
        dpop_jkt: None,
    }
}

fn refresh(name: &str, grant: &GrantRecord, at: i64) -> NewRefreshToken {
    NewRefreshToken {
        hash: TokenHash::of(name),
        grant_id: grant.id.clone(),
        issued_at: at,
        expires_at: at + 3_600,
    }
}

fn a_grants_resources_and_its_tokens_audiences_round_trip(db: &Database) {
    setup(db);
    let g = grant("g1", resources(&[FILES, API]));
    let first = access("a1", &g, &[API, FILES], T0);
    db.issue(&Issuance {
        grant: g.clone(),
        access: first.clone(),
        refresh: Some(refresh("r1", &g, T0)),
    })
    .unwrap();
    let found = db.find_access_token(&first.hash).unwrap().unwrap();
    assert_eq!(found.token, first);
    assert_eq!(found.token.audience, [API, FILES]);
    assert_eq!(found.grant, g);
    assert_eq!(
        found.grant.resources.to_delimited(),
        format!("{API} {FILES}")
    );
    let found = db
        .find_refresh_token(&TokenHash::of("r1"))
        .unwrap()
        .unwrap();
    assert_eq!(found.grant.resources, g.resources);

    // A grant for no resource, its token for a default audience that is no URI at all:
    // what a JWT access token says when the request named no resource.
    let plain = grant("g2", ResourceSet::empty());
    let default_aud = access("a2", &plain, &["my api"], T0);
    db.issue(&Issuance {
        grant: plain.clone(),
        access: default_aud.clone(),
        refresh: None,
    })
    .unwrap();
    let found = db.find_access_token(&default_aud.hash).unwrap().unwrap();
    assert_eq!(found.token.audience, ["my api"]);
    assert!(found.grant.resources.is_empty());
    // And a token with no audience (opaque, no resource) reads back as none.
    let none = grant("g3", ResourceSet::empty());
    db.issue(&Issuance {
        grant: none.clone(),
        access: access("a3", &none, &[], T0),
        refresh: None,
    })
    .unwrap();
    let found = db.find_access_token(&TokenHash::of("a3")).unwrap().unwrap();
    assert!(found.token.audience.is_empty());
}

fn a_rotation_reads_the_grants_resources_and_records_a_narrower_audience(db: &Database) {
    setup(db);
    let g = grant("g1", resources(&[API, FILES]));
    db.issue(&Issuance {
        grant: g.clone(),
        access: access("a0", &g, &[API, FILES], T0),
        refresh: Some(refresh("r0", &g, T0)),
    })
    .unwrap();
    // Both modes: Postgres reads the grant in its consuming update, SQLite by a select.
    for (presented, intent, tag) in [
        ("r0", RefreshIntent::Consume { at: T0 + 10 }, "consume"),
        ("r-consume", RefreshIntent::Keep, "keep"),
    ] {
        let narrowed = access(&format!("a-{tag}"), &g, &[FILES], T0 + 10);
        let mut seen = None;
        let mut decide = |state: &RefreshTokenState| {
            seen = Some(state.grant.resources.clone());
            Some(RefreshWrite {
                consume: matches!(intent, RefreshIntent::Consume { .. }),
                consumed_at_ms: (T0 + 10) * 1000,
                sealed_response: None,
                access: narrowed.clone(),
                successor: Some(refresh(&format!("r-{tag}"), &g, T0 + 10)),
            })
        };
        let outcome = db
            .rotate_refresh(&TokenHash::of(presented), intent, &mut decide)
            .unwrap();
        assert_eq!(outcome, RotateOutcome::Written, "{tag}");
        assert_eq!(seen, Some(g.resources.clone()), "{tag}");
        let stored = db.find_access_token(&narrowed.hash).unwrap().unwrap();
        assert_eq!(stored.token.audience, [FILES], "{tag}");
        assert_eq!(stored.grant.resources, g.resources, "the grant keeps both");
    }
}

fn code(name: &str, resources: ResourceSet) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of(name),
        client_id: ClientId::parse("app").unwrap(),
        user_id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        redirect_uri: None,
        scope: ScopeSet::parse("read").unwrap(),
        resources,
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

fn a_codes_resources_round_trip_and_reach_the_grant_it_creates(db: &Database) {
    setup(db);
    let with = code("c1", resources(&[API, FILES]));
    let without = code("c2", ResourceSet::empty());
    db.insert_code(&with).unwrap();
    db.insert_code(&without).unwrap();
    for expected in [&with, &without] {
        let mut seen = None;
        let outcome = db
            .redeem_code(
                &expected.hash,
                &mut |c: &AuthorizationCodeRecord, _: Option<&User>| {
                    seen = Some(c.clone());
                    CodeWrite::Decline
                },
            )
            .unwrap();
        assert_eq!(outcome, RedeemOutcome::Declined);
        assert_eq!(seen.as_ref(), Some(expected));
    }

    let mut created = None;
    let outcome = db
        .redeem_code(
            &with.hash,
            &mut |c: &AuthorizationCodeRecord, _: Option<&User>| {
                let g = grant("g-code", c.resources.clone());
                created = Some(g.clone());
                CodeWrite::Redeem(Box::new(Issuance {
                    access: access("a-code", &g, &[API], T0),
                    refresh: None,
                    grant: g,
                }))
            },
        )
        .unwrap();
    assert_eq!(outcome, RedeemOutcome::Redeemed);
    let stored = db
        .find_access_token(&TokenHash::of("a-code"))
        .unwrap()
        .unwrap();
    assert_eq!(Some(stored.grant), created);
    assert_eq!(stored.token.audience, [API]);
}

fn an_audience_the_columns_cannot_hold_writes_nothing(db: &Database) {
    setup(db);
    for (i, bad) in ["two\nlines", "", "carriage\rreturn"]
        .into_iter()
        .enumerate()
    {
        let g = grant(&format!("g{i}"), ResourceSet::empty());
        let token = access(&format!("a{i}"), &g, &[API, bad], T0);
        let err = db
            .issue(&Issuance {
                grant: g.clone(),
                access: token.clone(),
                refresh: None,
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Other(_)), "{bad:?}: {err:?}");
        assert!(
            db.find_access_token(&token.hash).unwrap().is_none(),
            "{bad:?}"
        );
        // Nor the grant: the same grant id is still free.
        db.issue(&Issuance {
            access: access(&format!("ok{i}"), &g, &[API], T0),
            grant: g,
            refresh: None,
        })
        .unwrap();
    }
}
