//! The rotation decision (`rotation::decide`), a pure function run inside every refresh
//! transaction. `cargo bench -p grantd-domain`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_domain::rotation::{decide, Presented, RotationPolicy};
use grantd_ports::{
    ClientId, GrantId, GrantRecord, RefreshToken, RefreshTokenState, ScopeSet, Subject, TokenHash,
    UserId, Username,
};

fn state() -> Option<(RefreshTokenState, ClientId, ScopeSet)> {
    let client = ClientId::parse("bench-client").ok()?;
    let grant = GrantId::parse("g1").ok()?;
    let state = RefreshTokenState {
        token: RefreshToken {
            hash: TokenHash::of("r"),
            grant_id: grant.clone(),
            issued_at: 1_000,
            expires_at: 100_000,
            consumed_at: None,
            consumed_at_ms: None,
            successor: None,
            sealed_response: None,
        },
        grant: GrantRecord {
            id: grant,
            client_id: client.clone(),
            subject: Subject::User {
                id: UserId::parse("u1").ok()?,
                username: Username::parse("alice").ok()?,
            },
            scope: ScopeSet::parse("read write profile").ok()?,
            resources: grantd_ports::ResourceSet::empty(),
            created_at: 1_000,
            expires_at: Some(1_000_000),
            revoked_at: None,
            auth_time: None,
            dpop_jkt: None,
        },
        successor_used: false,
    };
    Some((state, client, ScopeSet::parse("read").ok()?))
}

fn rotation(c: &mut Criterion) {
    let Some((live, client, narrower)) = state() else {
        return;
    };
    let policy = RotationPolicy {
        rotate: true,
        grace_period: 0,
    };
    let at = Presented {
        now: 5_000,
        arrived_at_ms: 5_000_000,
    };
    c.bench_function("decide: live token, full scope", |b| {
        b.iter(|| decide(black_box(&live), &client, None, at, policy))
    });
    c.bench_function("decide: live token, narrower scope", |b| {
        b.iter(|| decide(black_box(&live), &client, Some(&narrower), at, policy))
    });
    let mut reused = live.clone();
    reused.token.consumed_at = Some(2_000);
    c.bench_function("decide: reused token", |b| {
        b.iter(|| decide(black_box(&reused), &client, None, at, policy))
    });
}

criterion_group!(benches, rotation);
criterion_main!(benches);
