//! Token minting (OS CSPRNG + base64url) and hashing (SHA-256): done for every token issued
//! and every token presented. `cargo bench -p grantd-crypto`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_crypto::OsTokenMinter;
use grantd_ports::{TokenHash, TokenKind, TokenMinter};

fn tokens(c: &mut Criterion) {
    c.bench_function("mint refresh token", |b| {
        b.iter(|| OsTokenMinter.mint(black_box(TokenKind::Refresh)))
    });
    let token = OsTokenMinter.mint(TokenKind::Refresh);
    c.bench_function("sha256 of a token", |b| {
        b.iter(|| TokenHash::of(black_box(token.expose())))
    });
    c.bench_function("well-formedness check", |b| {
        b.iter(|| TokenKind::Refresh.is_well_formed(black_box(token.expose())))
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
