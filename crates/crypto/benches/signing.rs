//! The cost of signing one JWT access token (what each token response adds with
//! `tokens.access_token_format = "jwt"`) and one id token (what a response with `openid`
//! adds), per algorithm, and of verifying the access token against the published key;
//! the tokens' sizes are printed once per algorithm. `cargo bench -p
//! grantd-crypto --bench signing`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_crypto::{JoseKeys, JoseVerifier, KeyEncryptionKey};
use grantd_ports::{
    AccessTokenClaims, IdTokenClaims, JwtExpectations, JwtVerifier, SigningAlgorithm, SigningKey,
    TokenSigner,
};

/// A first id token of the code flow (Core §2): nonce, at_hash, auth_time, amr.
fn id_claims() -> IdTokenClaims {
    IdTokenClaims {
        iss: "https://grantd.example".into(),
        sub: "Vb1JQ2pm3nq0P0Hq3kS3Ag".into(),
        aud: "web-app".into(),
        iat: 1_800_000_000,
        exp: 1_800_003_600,
        auth_time: Some(1_799_999_990),
        nonce: Some("n-0S6_WzA2Mj".into()),
        at_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".into()),
        amr: vec!["pwd".into()],
        name: None,
        preferred_username: None,
        email: None,
        email_verified: None,
    }
}

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
        cnf_jkt: None,
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
        let id_token = jose.sign_id_token(&key, &id_claims()).expect("sign");
        println!(
            "{}: id token of {} bytes",
            algorithm.as_str(),
            id_token.len()
        );
        c.bench_function(&format!("sign id token {}", algorithm.as_str()), |b| {
            b.iter(|| jose.sign_id_token(black_box(&key), black_box(&id_claims())))
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
