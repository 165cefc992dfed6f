//! The crate's cost per request for a JWT access token, with the issuer's JWKS already in
//! the cache: as a bearer token (RS256, grantd's default signing key; ES256; EdDSA) and
//! DPoP-bound with a fresh proof per request (RFC 9449 §7: the proof's signature, claims,
//! `ath`, the binding and the replay record on top). The issuer is a tiny HTTP server on
//! 127.0.0.1 in this process, asked once for its metadata and JWKS before measuring; the
//! fetch counts are checked after, so nothing in the measured loop touched the network.
//! Proofs are signed in criterion's setup, outside the measurement. A last case measures
//! the DPoP request when the in-memory replay store is full of live proofs.
//! `cargo bench -p grantd-resource-server --bench verify -- --warm-up-time 1 --measurement-time 3`

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use grantd_resource_server::{jwk_thumbprint, MemoryReplayCache, ReplayCache, Request, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const AUDIENCE: &str = "https://api.example";
const URL: &str = "https://api.example/v1/items";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A private key of `alg` and its public JWK (key members only).
struct Key {
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl Key {
    fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::RS256 => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
                let der = key.to_pkcs1_der().expect("PKCS#1");
                Self {
                    alg,
                    encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                    jwk: json!({
                        "kty": "RSA",
                        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
                    }),
                }
            }
            Algorithm::ES256 => {
                use p256::pkcs8::EncodePrivateKey;
                let key = p256::ecdsa::SigningKey::random(&mut OsRng);
                let point = key.verifying_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    panic!("a P-256 point without coordinates");
                };
                Self {
                    alg,
                    encoding: EncodingKey::from_ec_der(key.to_pkcs8_der().expect("DER").as_bytes()),
                    jwk: json!({
                        "kty": "EC", "crv": "P-256",
                        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                    }),
                }
            }
            Algorithm::EdDSA => {
                use ed25519_dalek::pkcs8::EncodePrivateKey;
                let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                Self {
                    alg,
                    encoding: EncodingKey::from_ed_der(key.to_pkcs8_der().expect("DER").as_bytes()),
                    jwk: json!({
                        "kty": "OKP", "crv": "Ed25519",
                        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
                    }),
                }
            }
            other => panic!("no key for {other:?} here"),
        }
    }

    fn kid(&self) -> String {
        format!("{:?}", self.alg)
    }

    /// The JWK as the issuer publishes it.
    fn published(&self) -> Value {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(self.kid());
        jwk["alg"] = json!(format!("{:?}", self.alg));
        jwk["use"] = json!("sig");
        jwk
    }

    /// An RFC 9068 access token of `issuer`, signed with this key, bound to `jkt` if given.
    fn access_token(&self, issuer: &str, jkt: Option<&str>) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid());
        let mut claims = json!({
            "iss": issuer, "sub": "Vb1JQ2pm3nq0P0Hq3kS3Ag", "aud": AUDIENCE,
            "client_id": "web-app", "iat": now(), "exp": now() + 3600,
            "jti": "n8m0lJ3x0rDk2l6Q7h0k3qFJmH1G9kY0", "scope": "read write",
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("signed")
    }

    /// A fresh DPoP proof (new `jti`, `iat` now) for `GET URL` with `token`.
    fn proof(&self, token: &str) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).expect("a JWK"));
        let claims = json!({
            "jti": format!("{:032x}", rand::random::<u128>()), "htm": "GET", "htu": URL,
            "iat": now(), "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())),
        });
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("signed")
    }
}

/// The issuer on 127.0.0.1: RFC 8414 metadata and the JWKS of `keys`. Returns its base URL.
fn serve_issuer(keys: &[&Key]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let metadata = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}).to_string();
    let jwks = json!({"keys": keys.iter().map(|k| k.published()).collect::<Vec<_>>()}).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            // GET requests only: read the headers up to the blank line.
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
            }
            let body = if line.contains("/jwks") {
                &jwks
            } else {
                &metadata
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let keys = [
        Key::new(Algorithm::RS256),
        Key::new(Algorithm::ES256),
        Key::new(Algorithm::EdDSA),
    ];
    let issuer = serve_issuer(&keys.iter().collect::<Vec<_>>());
    // A fresh verifier per case (each its own replay cache), its JWKS fetched before.
    let verifier = || {
        let verifier = Verifier::builder(&issuer, AUDIENCE)
            .jwks_max_age(Duration::from_secs(24 * 3600))
            .build()
            .expect("a verifier");
        let warm = keys[0].access_token(&issuer, None);
        let authorization = format!("Bearer {warm}");
        rt.block_on(verifier.verify_authorization([authorization.as_bytes()], &["read"]))
            .expect("the warm-up token verifies");
        verifier
    };
    let mut group = c.benchmark_group("verify");

    for key in &keys {
        let verifier = verifier();
        let authorization = format!("Bearer {}", key.access_token(&issuer, None));
        group.bench_function(format!("bearer/{:?}", key.alg), |b| {
            b.iter(|| {
                rt.block_on(verifier.verify_authorization([authorization.as_bytes()], &["read"]))
                    .expect("verifies")
            });
        });
        assert_eq!(verifier.stats().jwks_fetches, 1, "no fetch while measuring");
    }

    // (token key, proof key): the token signed as grantd would (RS256, or the key it is
    // configured with), the proof by the client's key.
    for (token_key, proof_key) in [(0, 1), (0, 2), (1, 1), (2, 2)] {
        let (token_key, proof_key) = (&keys[token_key], &keys[proof_key]);
        let verifier = verifier();
        let jkt = jwk_thumbprint(&proof_key.jwk).expect("a thumbprint");
        let token = token_key.access_token(&issuer, Some(&jkt));
        let authorization = format!("DPoP {token}");
        let name = format!("dpop/token {:?}, proof {:?}", token_key.alg, proof_key.alg);
        group.bench_function(name, |b| {
            b.iter_batched(
                || proof_key.proof(&token),
                |proof| {
                    let request = Request::new("GET", URL)
                        .authorization([authorization.as_bytes()])
                        .dpop([proof.as_bytes()]);
                    rt.block_on(verifier.verify_request(&request, &["read"]))
                        .expect("verifies")
                },
                BatchSize::SmallInput,
            );
        });
        let stats = verifier.stats();
        assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
    }

    // The same with the default replay store full of live proofs (its bound, 100 000): each
    // new proof first makes room, a scan of the store.
    let full = Arc::new(MemoryReplayCache::new(100_000));
    rt.block_on(async {
        for i in 0..100_000u128 {
            let key: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            full.first_use(key, now() + 3600, now())
                .await
                .expect("recorded");
        }
    });
    let key = &keys[1];
    let token = key.access_token(&issuer, Some(&jwk_thumbprint(&key.jwk).expect("a jkt")));
    let authorization = format!("DPoP {token}");
    let verifier = Verifier::builder(&issuer, AUDIENCE)
        .jwks_max_age(Duration::from_secs(24 * 3600))
        .dpop_replay_cache(full)
        .build()
        .expect("a verifier");
    group.bench_function("dpop/token ES256, proof ES256, replay store full", |b| {
        b.iter_batched(
            || key.proof(&token),
            |proof| {
                let request = Request::new("GET", URL)
                    .authorization([authorization.as_bytes()])
                    .dpop([proof.as_bytes()]);
                rt.block_on(verifier.verify_request(&request, &["read"]))
                    .expect("verifies")
            },
            BatchSize::SmallInput,
        );
    });
    assert_eq!(verifier.stats().jwks_fetches, 1);
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
