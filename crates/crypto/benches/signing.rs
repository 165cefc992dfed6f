//! The cost of signing one JWT access token (what each token response adds with
//! `tokens.access_token_format = "jwt"`), per algorithm, and of verifying it against the
//! published key; the JWT's size is printed once per algorithm. `cargo bench -p
//! grantd-crypto --bench signing`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_crypto::{JoseKeys, JoseVerifier, KeyEncryptionKey};
use grantd_ports::{
    AccessTokenClaims, JwtExpectations, JwtVerifier, SigningAlgorithm, SigningKey, TokenSigner,
};

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://grantd.example".into(),
        sub: "Vb1JQ2pm3nq0P0Hq3kS3Ag".into(),
        aud: vec!["https://api.example".into()],
        client_id: "web-app".into(),
        iat: 1_800_000_000,
        exp: 1_800_003_600,
        jti: "gat_n8m0lJ3x0rDk2l6Q7h0k3qFJmH1G9kY0b2l1u3V4w5x".into(),
        scope: "read write".into(),
        auth_time: Some(1_800_000_000),
    }
}

fn signing(c: &mut Criterion) {
    let jose = JoseKeys::new(KeyEncryptionKey::random());
    for algorithm in SigningAlgorithm::ALL {
        let generated = jose.generate(algorithm).expect("generate");
        let key = SigningKey {
            kid: generated.kid,
            algorithm,
            public_jwk: generated.public_jwk,
            private_key: generated.private_key,
            created_at: 0,
            activates_at: 0,
            retired_at: None,
            published_until: None,
        };
        let token = jose.sign_access_token(&key, &claims()).expect("sign");
        println!(
            "{}: JWT access token of {} bytes",
            algorithm.as_str(),
            token.len()
        );
        c.bench_function(&format!("sign access token {}", algorithm.as_str()), |b| {
            b.iter(|| jose.sign_access_token(black_box(&key), black_box(&claims())))
        });
        let keys = [key.clone()];
        let expected = JwtExpectations {
            issuer: "https://grantd.example".into(),
            now: 1_800_000_001,
            algorithms: SigningAlgorithm::ALL.to_vec(),
        };
        c.bench_function(
            &format!("verify access token {}", algorithm.as_str()),
            |b| b.iter(|| JoseVerifier.verify_access_token(black_box(&token), &keys, &expected)),
        );
    }
}

criterion_group!(benches, signing);
criterion_main!(benches);
