//! `TokenStore::rotate_refresh_if`, the common path of a refresh in one statement, against
//! the domain's decision: for every case of `rotation::decide`'s table (and the DPoP key
//! check that precedes it), the state is built in the database, the decision is asked
//! about it as the store reads it, and the statement is run on it. Where the decision
//! issues with the grant's scope, the statement must write exactly that; where it refuses,
//! the statement must match nothing and change nothing. Both backends.

use grantd_ports::{
    ClientRowIs, ClientStore, ConsumeIf, FailureCounter, FailureKey, GrantRecord, Issuance,
    OneTripWrite, RefreshIntent, RefreshTokenState, RefreshWrite, RotateOutcome, TokenHash,
    TokenStore,
};
use grantd_store_diesel::Database;
use grantd_testkit::rotation::{self, CommonPath, Presented, RefreshStep, RotationPolicy};
use grantd_testkit::{contract, refresh_key_matches, Jkt};

use super::contract::{access, client, refresh, user, user_grant};

contract!(
    the_statement_agrees_with_the_decision_on_every_case,
    the_statement_refuses_more_never_less,
    a_stale_client_row_or_a_failed_guess_matches_nothing,
    concurrent_statements_have_exactly_one_winner,
);

const NOW: i64 = 1_700_100_000;
const AT: Presented = Presented {
    now: NOW,
    arrived_at_ms: NOW * 1000 + 500,
};
const ROTATE: RotationPolicy = RotationPolicy {
    rotate: true,
    grace_period: 0,
};

/// How a case changes the stored state of grant `g1` and its token `g1-r0` from a live
/// token of `app`'s with scope "read write", capped at NOW + 5000.
struct Case {
    name: &'static str,
    grant: fn(&mut GrantRecord),
    /// After issuing: consume the token at this millisecond; revoke the grant.
    consumed_at_ms: Option<i64>,
    revoked: bool,
    token_expires_at: i64,
    /// The presenting client and the DPoP key it proved.
    client: &'static str,
    proof: Option<&'static str>,
}

const LIVE: Case = Case {
    name: "live token issues with full scope",
    grant: |_| {},
    consumed_at_ms: None,
    revoked: false,
    token_expires_at: NOW + 100,
    client: "app",
    proof: None,
};

fn cases() -> Vec<Case> {
    vec![
        LIVE,
        Case {
            name: "other client",
            client: "other",
            ..LIVE
        },
        Case {
            name: "revoked grant",
            revoked: true,
            ..LIVE
        },
        Case {
            name: "consumed token is reuse",
            consumed_at_ms: Some((NOW - 1) * 1000),
            ..LIVE
        },
        Case {
            name: "consumed by a rotation this request arrived before: lost race",
            consumed_at_ms: Some(NOW * 1000 + 600),
            ..LIVE
        },
        Case {
            name: "expired token",
            token_expires_at: NOW,
            ..LIVE
        },
        Case {
            name: "grant past its cap",
            grant: |g| g.expires_at = Some(NOW),
            ..LIVE
        },
        Case {
            name: "no cap",
            grant: |g| g.expires_at = None,
            ..LIVE
        },
        Case {
            name: "a cap before the lifetimes caps the new tokens",
            grant: |g| g.expires_at = Some(NOW + 30),
            ..LIVE
        },
        Case {
            name: "other client with a consumed token changes nothing",
            client: "other",
            consumed_at_ms: Some((NOW - 1) * 1000),
            ..LIVE
        },
        Case {
            name: "a bound grant without a proof",
            grant: |g| g.dpop_jkt = Some("key-a".into()),
            ..LIVE
        },
        Case {
            name: "a bound grant with another key's proof",
            grant: |g| g.dpop_jkt = Some("key-a".into()),
            proof: Some("key-b"),
            ..LIVE
        },
        Case {
            name: "a bound grant with its key's proof",
            grant: |g| g.dpop_jkt = Some("key-a".into()),
            proof: Some("key-a"),
            ..LIVE
        },
        Case {
            name: "an unbound grant with a proof",
            proof: Some("key-a"),
            ..LIVE
        },
    ]
}

/// Clients `app` and `other`, user `alice`: shared by the cases.
fn parties(db: &Database) {
    db.insert_client(&client("app")).unwrap();
    db.insert_client(&client("other")).unwrap();
    grantd_ports::UserStore::insert_user(db, &user("u1", "alice")).unwrap();
}

/// The presented token of case `i`.
fn token(i: usize) -> TokenHash {
    TokenHash::of(&format!("g{i}-r0"))
}

/// Stores case `i`'s state: grant `g<i>` of `app` with token `g<i>-r0`.
fn build(db: &Database, i: usize, case: &Case) -> GrantRecord {
    let app = client("app");
    let u = user("u1", "alice");
    let mut g = user_grant(&format!("g{i}"), &app, &u);
    g.expires_at = Some(NOW + 5000);
    (case.grant)(&mut g);
    let mut r = refresh(&format!("g{i}-r0"), &g, NOW - 100);
    r.expires_at = case.token_expires_at;
    db.issue(&Issuance {
        grant: g.clone(),
        access: access(&format!("g{i}-a0"), &g, NOW - 100),
        refresh: Some(r),
    })
    .unwrap();
    if let Some(ms) = case.consumed_at_ms {
        let at = ms.div_euclid(1000);
        let write = RefreshWrite {
            consume: true,
            consumed_at_ms: ms,
            sealed_response: None,
            access: access(&format!("g{i} earlier access"), &g, at),
            successor: Some(refresh(&format!("g{i} earlier successor"), &g, at)),
        };
        let mut decide = |_: &RefreshTokenState| Some(write.clone());
        let outcome = db
            .rotate_refresh(&token(i), RefreshIntent::Consume { at }, &mut decide)
            .unwrap();
        assert_eq!(outcome, RotateOutcome::Written);
    }
    if case.revoked {
        assert!(db.revoke_grant(&g.id, NOW - 5).unwrap());
    }
    g
}

fn rules(i: usize, client: &str, proof: Option<&str>) -> ConsumeIf {
    let client_id = grantd_ports::ClientId::parse(client).unwrap();
    rotation::consume_if(CommonPath {
        token: token(i),
        client_id: &client_id,
        at: AT,
        dpop_jkt: proof,
        registered_scopes: vec!["read".into(), "write".into(), "openid".into()],
        client_row: None,
        no_failures: Vec::new(),
    })
}

fn write(i: usize) -> OneTripWrite {
    OneTripWrite {
        consumed_at_ms: NOW * 1000 + 700,
        access: TokenHash::of(&format!("g{i} new access")),
        access_expires_at: NOW + 3600,
        access_dpop_jkt: Some("key-a".into()),
        successor: TokenHash::of(&format!("g{i} new successor")),
        successor_expires_at: NOW + 86_400,
    }
}

/// The full decision on `state` for `case`'s request: the DPoP key check, then `decide`.
fn verdict(state: &RefreshTokenState, case: &Case) -> Option<RefreshStep> {
    let proof = case.proof.map(|p| Jkt::from_stored(p.into()));
    if !refresh_key_matches(state.grant.dpop_jkt.as_deref(), proof.as_ref()) {
        return None;
    }
    let client_id = grantd_ports::ClientId::parse(case.client).unwrap();
    rotation::decide(state, &client_id, None, AT, ROTATE).ok()
}

fn the_statement_agrees_with_the_decision_on_every_case(db: &Database) {
    parties(db);
    let cases = cases();
    let mut issued = 0;
    for (i, case) in cases.iter().enumerate() {
        issued += usize::from(agrees_on(db, i, case));
    }
    // The table covers both outcomes.
    assert!(
        issued >= 4 && issued < cases.len(),
        "{issued} of {}",
        cases.len()
    );
}

/// Runs case `i`; whether the decision (and so the statement) issued.
fn agrees_on(db: &Database, i: usize, case: &Case) -> bool {
    let g = build(db, i, case);
    let presented = token(i);
    let write = || write(i);
    let before = db.find_refresh_token(&presented).unwrap().unwrap();
    let verdict = verdict(&before, case);
    let written = db
        .rotate_refresh_if(&rules(i, case.client, case.proof), &write())
        .unwrap();
    let after = db.find_refresh_token(&presented).unwrap().unwrap();
    let access = db.find_access_token(&write().access).unwrap();
    let successor = db.find_refresh_token(&write().successor).unwrap();
    match verdict {
        Some(RefreshStep::Issue {
            rotate: true,
            scope,
        }) => {
            let issued = written.unwrap_or_else(|| panic!("{}: the decision issues", case.name));
            assert_eq!(issued.scope, scope, "{}", case.name);
            assert_eq!(issued.grant_id, g.id, "{}", case.name);
            // Consumed at now, at the write's millisecond, with its successor recorded.
            assert_eq!(after.token.consumed_at, Some(NOW), "{}", case.name);
            assert_eq!(after.token.consumed_at_ms, Some(NOW * 1000 + 700));
            assert_eq!(after.token.successor, Some(write().successor));
            // The tokens as the full path would write them: capped by the grant.
            let cap = |at: i64| g.expires_at.map_or(at, |c| at.min(c));
            let access = access.unwrap().token;
            assert_eq!(access.scope, scope, "{}", case.name);
            assert_eq!(access.issued_at, NOW);
            assert_eq!(access.expires_at, cap(NOW + 3600), "{}", case.name);
            assert_eq!(issued.access_expires_at, access.expires_at);
            assert_eq!(access.dpop_jkt.as_deref(), Some("key-a"));
            assert_eq!(access.audience, Vec::<String>::new());
            let successor = successor.unwrap();
            assert_eq!(successor.token.issued_at, NOW);
            assert_eq!(
                successor.token.expires_at,
                cap(NOW + 86_400),
                "{}",
                case.name
            );
            assert_eq!(successor.token.consumed_at, None);
            assert_eq!(successor.grant, g);
            true
        }
        other => {
            assert_eq!(written, None, "{}: the decision says {other:?}", case.name);
            assert_eq!(after, before, "{}: nothing changed", case.name);
            assert!(access.is_none() && successor.is_none(), "{}", case.name);
            false
        }
    }
}

/// Where the statement cannot tell that the decision would issue as it does (a scope no
/// longer registered, `openid` and its id token), it matches nothing and the full path
/// decides: it may refuse more than the decision, never less.
fn the_statement_refuses_more_never_less(db: &Database) {
    parties(db);
    for (i, scope) in [(0, "read legacy"), (1, "openid read")] {
        let g = build(db, i, &LIVE);
        let mut rules = rules(i, "app", None);
        // The grant's scope, as the case needs it: rewritten through a new grant.
        let mut g2 = g.clone();
        g2.id = grantd_ports::GrantId::parse(&format!("h{i}")).unwrap();
        g2.scope = grantd_ports::ScopeSet::parse(scope).unwrap();
        db.issue(&Issuance {
            grant: g2.clone(),
            access: access(&format!("h{i}-a0"), &g2, NOW - 100),
            refresh: Some(refresh(&format!("h{i}-r0"), &g2, NOW - 100)),
        })
        .unwrap();
        rules.token = TokenHash::of(&format!("h{i}-r0"));
        let before = db.find_refresh_token(&rules.token).unwrap().unwrap();
        assert!(matches!(
            rotation::decide(&before, &g.client_id, None, AT, ROTATE),
            Ok(RefreshStep::Issue { .. })
        ));
        assert_eq!(
            db.rotate_refresh_if(&rules, &write(i)).unwrap(),
            None,
            "{scope}"
        );
        assert_eq!(
            db.find_refresh_token(&rules.token).unwrap().unwrap(),
            before
        );
        // And the plain grant of the same client still goes through.
        assert!(db
            .rotate_refresh_if(&self::rules(i, "app", None), &write(i))
            .unwrap()
            .is_some());
    }
}

/// A client row held in memory that is no longer the stored one (any update bumps its
/// version), or a request whose source has a failed guess in a live window: nothing.
fn a_stale_client_row_or_a_failed_guess_matches_nothing(db: &Database) {
    parties(db);
    let app = client("app");
    let stored = db.find_client(&app.id).unwrap().unwrap();
    let held = ClientRowIs {
        secret_version: stored.secret_version,
        secret: stored.secret.clone().unwrap(),
    };
    build(db, 0, &LIVE);
    build(db, 1, &LIVE);
    let key = FailureKey::derive("secret/source", &[b"203.0.113.9"]);
    let with = |i: usize, row: Option<ClientRowIs>, keys: Vec<FailureKey>| ConsumeIf {
        client_row: row,
        no_failures: keys,
        ..rules(i, "app", None)
    };
    // A failure elsewhere is not this request's.
    db.record_failure(
        &[FailureKey::derive("secret/source", &[b"other"])],
        NOW - 1,
        60,
    )
    .unwrap();
    // The client's secret rotates: its version moves on, the held row is stale.
    assert!(db
        .set_client_secret(
            &app.id,
            &grantd_ports::SecretHash::from_stored("$2b$04$new".into())
        )
        .unwrap());
    assert_eq!(
        db.rotate_refresh_if(&with(0, Some(held.clone()), vec![key]), &write(0))
            .unwrap(),
        None,
        "a stale client row"
    );
    let current = db.find_client(&app.id).unwrap().unwrap();
    let current = ClientRowIs {
        secret_version: current.secret_version,
        secret: current.secret.unwrap(),
    };
    assert_eq!(current.secret_version, held.secret_version + 1);
    db.record_failure(&[key], NOW - 1, 60).unwrap();
    assert_eq!(
        db.rotate_refresh_if(&with(0, Some(current.clone()), vec![key]), &write(0))
            .unwrap(),
        None,
        "a live failure of this source"
    );
    // Clean counters and the current row: through.
    assert!(db
        .rotate_refresh_if(
            &with(
                1,
                Some(current),
                vec![FailureKey::derive("secret/source", &[b"clean"])]
            ),
            &write(1)
        )
        .unwrap()
        .is_some());
}

/// Of concurrent statements on one token, exactly one writes.
fn concurrent_statements_have_exactly_one_winner(db: &Database) {
    parties(db);
    build(db, 0, &LIVE);
    let wins = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for n in 0..6 {
            let wins = &wins;
            s.spawn(move || {
                let mut w = write(0);
                w.access = TokenHash::of(&format!("racer {n} access"));
                w.successor = TokenHash::of(&format!("racer {n} successor"));
                if db
                    .rotate_refresh_if(&rules(0, "app", None), &w)
                    .unwrap()
                    .is_some()
                {
                    wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1);
}
