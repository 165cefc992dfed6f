//! DPoP at the resource (RFC 9449 §7) end to end over HTTP, with tokens from a small test
//! issuer of this file (metadata, JWKS and introspection over real HTTP, its key made in
//! the test), for what grantd cannot be made to issue: EdDSA-signed tokens, exact claims,
//! proofs for made-up URLs. `grantd_dpop.rs` does the same with grantd's own bound tokens.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header;
use actix_web::test as actix_test;
use actix_web::{web, App, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_resource_server::{
    jwk_thumbprint, Authenticated, MemoryReplayCache, ProofProblem, Reason, Request, Scheme,
    TokenProblem, Verifier, VerifierBuilder,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const URL: &str = "https://api.example/v1/items";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A client's DPoP key: it signs proofs.
pub struct ProofKey {
    alg: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

impl ProofKey {
    pub fn es256() -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        Self {
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(key.to_pkcs8_der().unwrap().as_bytes()),
            jwk: json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            }),
        }
    }

    pub fn ed25519() -> Self {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Self {
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(key.to_pkcs8_der().unwrap().as_bytes()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
            }),
        }
    }

    pub fn jkt(&self) -> String {
        jwk_thumbprint(&self.jwk).unwrap()
    }

    /// A fresh proof (new `jti`, `iat` now) for `method` and `url`, for `token`.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> String {
        self.proof_at(method, url, token, now())
    }

    pub fn proof_at(&self, method: &str, url: &str, token: &str, iat: i64) -> String {
        self.proof_full(method, url, token, iat, None)
    }

    pub fn proof_full(
        &self,
        method: &str,
        url: &str,
        token: &str,
        iat: i64,
        nonce: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": format!("{:032x}", rand::random::<u128>()), "htm": method, "htu": url,
            "iat": iat, "ath": URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        self.sign(&claims)
    }

    /// A proof for a token request (`POST url`, no `ath`: there is no token yet).
    pub fn token_request_proof(&self, url: &str, iat: i64) -> String {
        self.sign(&json!({
            "jti": format!("{:032x}", rand::random::<u128>()), "htm": "POST", "htu": url,
            "iat": iat,
        }))
    }

    /// A proof of exactly these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A test issuer over HTTP: RFC 8414 metadata, its JWKS, and an introspection endpoint that
/// calls the opaque token `opaque-bound` active and bound to `jkt`.
struct TestIssuer {
    base: String,
    key: EncodingKey,
}

impl TestIssuer {
    fn start(opaque_jkt: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let point = key.verifying_key().to_encoded_point(false);
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "as-1", "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }]});
        let metadata = json!({
            "issuer": base, "jwks_uri": format!("{base}/jwks"),
            "introspection_endpoint": format!("{base}/introspect"),
        });
        let introspection = json!({
            "active": true, "sub": "user-1", "client_id": "app", "scope": "read",
            "token_type": "DPoP", "exp": now() + 300, "cnf": {"jkt": opaque_jkt},
        });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = match path.as_str() {
                    "/.well-known/oauth-authorization-server" => metadata.clone(),
                    "/jwks" => jwks.clone(),
                    "/introspect" if String::from_utf8_lossy(&body).contains("opaque-bound") => {
                        introspection.clone()
                    }
                    _ => json!({"active": false}),
                }
                .to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Self {
            base,
            key: EncodingKey::from_ec_der(key.to_pkcs8_der().unwrap().as_bytes()),
        }
    }

    fn builder(&self) -> VerifierBuilder {
        Verifier::builder(&self.base, "https://api.example").introspection("rs", "secret")
    }

    /// An RFC 9068 access token, bound to `jkt` if given.
    fn token(&self, jkt: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("at+jwt".into());
        header.kid = Some("as-1".into());
        let mut claims = json!({
            "iss": self.base, "sub": "user-1", "aud": "https://api.example", "client_id": "app",
            "iat": now(), "exp": now() + 300, "jti": "at-1", "scope": "read",
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

/// `Authorization: DPoP <token>` with these proofs, for `GET URL`.
fn verify(
    verifier: &Verifier,
    token: &str,
    proofs: &[&str],
) -> Result<Authenticated, grantd_resource_server::Rejection> {
    let authorization = format!("DPoP {token}");
    let request = Request::new("GET", URL)
        .authorization([authorization.as_bytes()])
        .dpop(proofs.iter().map(|p| p.as_bytes()));
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(verifier.verify_request(&request, &["read"]))
}

fn reason(result: Result<Authenticated, grantd_resource_server::Rejection>) -> Reason {
    result.unwrap_err().reason().clone()
}

#[test]
fn a_bound_jwt_with_its_keys_proof_is_accepted_and_the_proof_only_once() {
    for key in [ProofKey::es256(), ProofKey::ed25519()] {
        let issuer = TestIssuer::start("unused");
        let verifier = issuer.builder().build().unwrap();
        let token = issuer.token(Some(&key.jkt()));
        let proof = key.proof("GET", URL, &token);
        let who = verify(&verifier, &token, &[&proof]).unwrap();
        assert_eq!((who.sub.as_str(), who.scheme), ("user-1", Scheme::DPoP));
        assert_eq!(who.jkt, Some(key.jkt()));
        let replayed = verify(&verifier, &token, &[&proof]).unwrap_err();
        assert_eq!(
            replayed.reason(),
            &Reason::InvalidDpopProof(ProofProblem::Replayed)
        );
        assert_eq!(replayed.status(), 401);
        assert!(replayed
            .www_authenticate()
            .unwrap()
            .starts_with(r#"DPoP error="invalid_dpop_proof""#));
        assert!(verify(&verifier, &token, &[&key.proof("GET", URL, &token)]).is_ok());
    }
}

#[test]
fn the_token_must_be_bound_to_the_proofs_key() {
    let issuer = TestIssuer::start("unused");
    let verifier = issuer.builder().build().unwrap();
    let key = ProofKey::es256();
    let token = issuer.token(Some(&key.jkt()));
    let thief = ProofKey::es256();
    let binding = Reason::InvalidToken(TokenProblem::KeyBinding);
    assert_eq!(
        reason(verify(
            &verifier,
            &token,
            &[&thief.proof("GET", URL, &token)]
        )),
        binding,
        "a stolen token with the thief's own key"
    );
    let unbound = issuer.token(None);
    let refused = verify(&verifier, &unbound, &[&key.proof("GET", URL, &unbound)]).unwrap_err();
    assert_eq!(refused.reason(), &binding, "an unbound token under DPoP");
    assert_eq!(
        refused.www_authenticate().unwrap(),
        r#"DPoP error="invalid_token", error_description="The access token is invalid", algs="ES256 EdDSA RS256 PS256", Bearer"#
    );
    // The bound token as a bearer token (RFC 9449 §7.2).
    let bearer = format!("Bearer {token}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt
        .block_on(verifier.verify_authorization([bearer.as_bytes()], &[]))
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::SenderConstrained)
    );
    assert!(rt
        .block_on(verifier.verify_authorization([format!("Bearer {unbound}").as_bytes()], &[]))
        .is_ok());
}

#[test]
fn a_proof_for_another_request_token_or_time_is_refused() {
    let issuer = TestIssuer::start("unused");
    let verifier = issuer.builder().build().unwrap();
    let key = ProofKey::ed25519();
    let token = issuer.token(Some(&key.jkt()));
    let other = issuer.token(None);
    let proof = |p: ProofProblem| Reason::InvalidDpopProof(p);
    let cases = [
        (key.proof("POST", URL, &token), ProofProblem::Method),
        (
            key.proof("GET", "https://api.example/v1/other", &token),
            ProofProblem::Url,
        ),
        (key.proof("GET", URL, &other), ProofProblem::TokenHash),
        (
            key.proof_at("GET", URL, &token, now() - 120),
            ProofProblem::IssuedAt,
        ),
        ("not-a-proof".to_owned(), ProofProblem::Malformed),
    ];
    for (p, problem) in cases {
        assert_eq!(
            reason(verify(&verifier, &token, &[&p])),
            proof(problem),
            "{problem}"
        );
    }
    assert_eq!(
        reason(verify(&verifier, &token, &[])),
        proof(ProofProblem::Missing)
    );
    let good = key.proof("GET", URL, &token);
    assert_eq!(
        reason(verify(&verifier, &token, &[&good, &good])),
        proof(ProofProblem::Multiple)
    );
    // A narrower window refuses what the default takes.
    let strict = issuer
        .builder()
        .dpop_iat_window(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let old = key.proof_at("GET", URL, &token, now() - 30);
    assert!(verify(&verifier, &token, &[&old]).is_ok());
    assert_eq!(
        reason(verify(
            &strict,
            &token,
            &[&key.proof_at("GET", URL, &token, now() - 30)]
        )),
        proof(ProofProblem::IssuedAt)
    );
}

#[test]
fn an_opaque_token_is_bound_by_its_introspection_answer() {
    let key = ProofKey::es256();
    let issuer = TestIssuer::start(&key.jkt());
    let verifier = issuer.builder().build().unwrap();
    let token = "opaque-bound";
    let who = verify(&verifier, token, &[&key.proof("GET", URL, token)]).unwrap();
    assert_eq!(who.jkt, Some(key.jkt()));
    assert_eq!(
        reason(verify(
            &verifier,
            token,
            &[&ProofKey::es256().proof("GET", URL, token)]
        )),
        Reason::InvalidToken(TokenProblem::KeyBinding)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt
        .block_on(verifier.verify_authorization([&b"Bearer opaque-bound"[..]], &[]))
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::SenderConstrained)
    );
}

#[test]
fn instances_catch_each_others_replays_only_with_a_shared_cache() {
    let issuer = TestIssuer::start("unused");
    let key = ProofKey::es256();
    let token = issuer.token(Some(&key.jkt()));
    let (a, b) = (
        issuer.builder().build().unwrap(),
        issuer.builder().build().unwrap(),
    );
    let proof = key.proof("GET", URL, &token);
    assert!(verify(&a, &token, &[&proof]).is_ok());
    assert!(
        verify(&b, &token, &[&proof]).is_ok(),
        "each instance's own cache: the replay to the other is not caught"
    );
    let shared = Arc::new(MemoryReplayCache::new(100));
    let (a, b) = (
        issuer
            .builder()
            .dpop_replay_cache(shared.clone())
            .build()
            .unwrap(),
        issuer.builder().dpop_replay_cache(shared).build().unwrap(),
    );
    let proof = key.proof("GET", URL, &token);
    assert!(verify(&a, &token, &[&proof]).is_ok());
    assert_eq!(
        reason(verify(&b, &token, &[&proof])),
        Reason::InvalidDpopProof(ProofProblem::Replayed)
    );
}

#[test]
fn dpop_turned_off_is_refused_and_not_offered() {
    let issuer = TestIssuer::start("unused");
    let verifier = issuer.builder().dpop(false).build().unwrap();
    let key = ProofKey::es256();
    let token = issuer.token(Some(&key.jkt()));
    let refused = verify(&verifier, &token, &[&key.proof("GET", URL, &token)]).unwrap_err();
    assert_eq!(refused.reason(), &Reason::SchemeNotSupported(Scheme::DPoP));
    assert!(!refused.www_authenticate().unwrap().contains("algs"));
}

#[test]
fn the_extractor_checks_proofs_against_the_public_base_url_not_the_host() {
    let issuer = TestIssuer::start("unused");
    let key = ProofKey::es256();
    let token = issuer.token(Some(&key.jkt()));
    let configured = issuer
        .builder()
        .public_base_url("https://api.example/v1/")
        .build()
        .unwrap();
    let unconfigured = issuer.builder().build().unwrap();
    actix_web::rt::System::new().block_on(async move {
        let route = || {
            web::get().to(|who: Authenticated| async move {
                HttpResponse::Ok().body(format!("{} {}", who.sub, who.scheme))
            })
        };
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(configured))
                .route("/items", route()),
        )
        .await;
        let call = |proof: String| {
            actix_test::TestRequest::get()
                .uri("/items?page=2")
                .insert_header((header::HOST, "evil.example"))
                .insert_header((header::AUTHORIZATION, format!("DPoP {token}")))
                .insert_header(("DPoP", proof))
                .to_request()
        };
        let ok = actix_test::call_service(&app, call(key.proof("GET", URL, &token))).await;
        assert_eq!(ok.status().as_u16(), 200);
        assert_eq!(actix_test::read_body(ok).await, "user-1 DPoP");
        let by_host = key.proof("GET", "http://evil.example/items", &token);
        let refused = actix_test::call_service(&app, call(by_host)).await;
        assert_eq!(refused.status().as_u16(), 401);
        let challenge = refused.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert!(challenge
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP error="invalid_dpop_proof""#));

        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(unconfigured))
                .route("/items", route()),
        )
        .await;
        let refused = actix_test::call_service(&app, call(key.proof("GET", URL, &token))).await;
        assert_eq!(
            refused.status().as_u16(),
            401,
            "without a public base URL the extractor cannot check htu"
        );
    });
}

#[test]
fn the_nonce_dance_through_the_extractor() {
    let issuer = TestIssuer::start("unused");
    let key = ProofKey::ed25519();
    let token = issuer.token(Some(&key.jkt()));
    let verifier = issuer
        .builder()
        .public_base_url("https://api.example/v1")
        .require_dpop_nonce(vec![42; 32])
        .build()
        .unwrap();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(App::new().app_data(web::Data::new(verifier)).route(
            "/items",
            web::get().to(|who: Authenticated| async move { HttpResponse::Ok().body(who.sub) }),
        ))
        .await;
        let call = |proof: String| {
            actix_test::TestRequest::get()
                .uri("/items")
                .insert_header((header::AUTHORIZATION, format!("DPoP {token}")))
                .insert_header(("DPoP", proof))
                .to_request()
        };
        let first = actix_test::call_service(&app, call(key.proof("GET", URL, &token))).await;
        assert_eq!(first.status().as_u16(), 401);
        let challenge = first.headers().get(header::WWW_AUTHENTICATE).unwrap();
        assert!(challenge
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP error="use_dpop_nonce""#));
        let nonce = first
            .headers()
            .get("DPoP-Nonce")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let proof = key.proof_full("GET", URL, &token, now(), Some(&nonce));
        let second = actix_test::call_service(&app, call(proof)).await;
        assert_eq!(second.status().as_u16(), 200);
        let made_up = key.proof_full("GET", URL, &token, now(), Some("made-up"));
        let third = actix_test::call_service(&app, call(made_up)).await;
        assert_eq!(third.status().as_u16(), 401);
        assert!(third.headers().get("DPoP-Nonce").is_some());
    });
}
