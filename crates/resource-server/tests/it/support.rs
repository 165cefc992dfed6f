//! The harness these tests share: a grantd, a clock for the verifier that moves with
//! grantd's, one tokio runtime for the verifier's lifetime (its pooled connections live
//! on it), grantd's own request counts, and tokens forged with keys of the test.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_resource_server::{Authenticated, Clock, Rejection, Verifier, VerifierBuilder};
use grantd_testkit::http::{http, json};
use grantd_testkit::{fixtures, Backend, TestApp};
use serde_json::Value;

/// The URL of the protected API the DPoP proofs name (the example's `/hello`).
pub const API_URL: &str = "http://127.0.0.1:3000/hello";

/// The verifier's clock; it starts at the real time, as grantd's test clock does.
pub struct RsClock(AtomicI64);

impl Clock for RsClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Harness {
    pub clock: Arc<RsClock>,
    /// How far the verifier's clock was moved past grantd's ([`Harness::advance_verifier`]).
    ahead: AtomicI64,
    pub rt: tokio::runtime::Runtime,
    // Last: grantd stops after the runtime is gone (its Drop must not run inside one).
    pub app: TestApp,
}

impl Harness {
    /// A grantd issuing JWT (`jwt`) or opaque access tokens.
    pub fn start(jwt: bool) -> Self {
        let app = TestApp::start_as_issuer(Backend::Sqlite, jwt);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Self {
            clock: Arc::new(RsClock(AtomicI64::new(now))),
            ahead: AtomicI64::new(0),
            rt: tokio::runtime::Runtime::new().unwrap(),
            app,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.app.base
    }

    /// A builder for this grantd's tokens (audience = issuer, grantd's default), on the
    /// harness clock.
    pub fn builder(&self) -> VerifierBuilder {
        Verifier::builder(self.issuer(), self.issuer()).clock(self.clock.clone())
    }

    /// With the fixtures' resource server `rs`, which may introspect.
    pub fn introspecting(&self) -> VerifierBuilder {
        self.builder().introspection("rs", fixtures::SECRET)
    }

    /// Moves grantd's clock and the verifier's together.
    pub fn advance(&self, secs: i64) {
        self.app.clock.advance(secs);
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Moves the verifier's clock only (grantd's judgement stays where it was).
    pub fn advance_verifier(&self, secs: i64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
        self.ahead.fetch_add(secs, Ordering::SeqCst);
    }

    /// grantd's time (its test clock, to within the second both clocks started in).
    pub fn grantd_now(&self) -> i64 {
        self.clock.now() - self.ahead.load(Ordering::SeqCst)
    }

    /// `Authorization: Bearer <token>` through `verifier`, requiring `scopes`.
    pub fn verify(
        &self,
        verifier: &Verifier,
        token: &str,
        scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let header = format!("Bearer {token}");
        self.rt
            .block_on(verifier.verify_authorization([header.as_bytes()], scopes))
    }

    /// An access token for alice through the `app` client, with `scope` (None = default).
    pub fn token(&self, scope: Option<&str>) -> String {
        let mut body = format!(
            "grant_type=password&username=alice&password={}",
            fixtures::PASSWORD
        );
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={scope}"));
        }
        let (status, answer) = json(grantd_testkit::app::token_request(
            &self.app,
            Some(("app", fixtures::SECRET)),
            &body,
        ));
        assert_eq!(status, 200, "{answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// A DPoP-bound access token for alice through the `app` client (RFC 9449 §5): the
    /// token request carries `key`'s proof, so grantd binds the token to its thumbprint.
    pub fn dpop_token(&self, key: &crate::dpop::ProofKey, scope: Option<&str>) -> String {
        let mut body = format!(
            "grant_type=password&username=alice&password={}",
            fixtures::PASSWORD
        );
        if let Some(scope) = scope {
            body.push_str(&format!("&scope={scope}"));
        }
        // The issuer is this grantd's own address, so its token endpoint is under it.
        let url = self.app.url("/oauth/token");
        let proof = key.token_request_proof(&url, self.grantd_now());
        let (status, answer) = json(
            http()
                .post(&url)
                .basic_auth("app", Some(fixtures::SECRET))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("DPoP", proof)
                .body(body)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["token_type"], "DPoP", "{answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET API_URL` with `Authorization: DPoP <token>` and `proof`, through `verifier`.
    pub fn verify_dpop(
        &self,
        verifier: &Verifier,
        token: &str,
        proof: &str,
        scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let authorization = format!("DPoP {token}");
        let request = grantd_resource_server::Request::new("GET", API_URL)
            .authorization([authorization.as_bytes()])
            .dpop([proof.as_bytes()]);
        self.rt.block_on(verifier.verify_request(&request, scopes))
    }

    /// A fresh proof by `key` for `GET API_URL` with `token`, at the verifier's time.
    pub fn proof(&self, key: &crate::dpop::ProofKey, token: &str) -> String {
        key.proof_at("GET", API_URL, token, self.clock.now())
    }

    /// How many requests grantd answered on `endpoint` (a route of its table), from its
    /// own counter `grantd_http_requests_total`.
    pub fn served(&self, endpoint: &str) -> u64 {
        let text = http()
            .get(self.app.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let prefix = format!("grantd_http_requests_total{{endpoint=\"{endpoint}\"");
        text.lines()
            .filter(|line| line.starts_with(&prefix))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    pub fn revoke(&self, token: &str) {
        let response = grantd_testkit::app::post_form(
            &self.app,
            "/oauth/revoke",
            ("app", fixtures::SECRET),
            &format!("token={token}"),
        );
        assert_eq!(response.status().as_u16(), 200);
    }
}

/// The decoded JOSE header of a compact JWT.
pub fn header_of(token: &str) -> Value {
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

/// The claims of a compact JWT, unverified.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A token with `claims` and a header naming `kid`, signed with a P-256 key of the test's
/// own: what a forger without grantd's keys can make.
pub fn forge(kid: &str, claims: &Value) -> String {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
    )
    .unwrap()
}
