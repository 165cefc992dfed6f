//! The server's DPoP proof check (RFC 9449 §4.3): any `DPoP` header value, through the JOSE
//! adapter's parsing and signature check and the domain's claim rules, ends in a thumbprint
//! or a typed refusal, never a panic. Two shapes: the bytes as the whole proof, and the
//! bytes as the protected header (with well-formed claims and a junk signature), which
//! drives the `alg`, `typ` and `jwk` parsing that a raw string rarely reaches.
#![no_main]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_crypto::JoseProofVerifier;
use grantd_domain::dpop::{DpopError, DpopProofs, DpopSettings, ProofContext};
use grantd_ports::{Clock, DpopReplayStore, StoreError, UnixMillis, UnixTime};
use libfuzzer_sys::fuzz_target;

const NOW: UnixTime = 1_700_000_000;
const TOKEN_URL: &str = "https://as.example/oauth/token";

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        NOW
    }

    fn now_millis(&self) -> UnixMillis {
        NOW * 1000
    }
}

/// Accepts every jti once per run (enough: the point is the parsing, not the replay).
struct CountingReplay(AtomicI64);

impl DpopReplayStore for CountingReplay {
    fn record_jti(&self, _: &[u8; 32], _: UnixTime, _: UnixTime) -> Result<bool, StoreError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

fn check(proofs: &DpopProofs, proof: &str) {
    let context = ProofContext {
        method: "POST",
        url: TOKEN_URL,
        access_token: None,
    };
    match proofs.check(proof, &context) {
        Ok(jkt) => assert_eq!(jkt.as_str().len(), 43, "a thumbprint is a SHA-256"),
        Err(DpopError::Invalid(why)) => assert!(!why.is_empty()),
        Err(DpopError::UseNonce(_)) => unreachable!("nonces are not required here"),
        Err(DpopError::Store(_)) => unreachable!("the replay double never fails"),
    }
}

fuzz_target!(|data: &[u8]| {
    let proofs = DpopProofs::new(
        Arc::new(JoseProofVerifier),
        Arc::new(CountingReplay(AtomicI64::new(0))),
        Arc::new(FixedClock),
        DpopSettings::default(),
        "https://as.example",
    );
    if let Ok(text) = std::str::from_utf8(data) {
        check(&proofs, text);
    }
    let claims = format!(r#"{{"jti":"j","htm":"POST","htu":"{TOKEN_URL}","iat":{NOW}}}"#);
    let shaped = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(data),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode([0u8; 64])
    );
    check(&proofs, &shaped);
});
