//! Proof Key for Code Exchange (RFC 7636): the syntax of verifiers and challenges, and the
//! check at the token endpoint. Pure functions; the comparison is constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_ports::{CodeChallenge, CodeChallengeMethod};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// §4.1: `code-verifier = 43*128unreserved`, unreserved = `[A-Za-z0-9-._~]`. §4.2 gives a
/// challenge the same alphabet and length (an S256 challenge is always 43 characters).
pub fn is_well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// §4.2: the challenge a verifier produces under `method`.
pub fn challenge_of(verifier: &str, method: CodeChallengeMethod) -> String {
    match method {
        CodeChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        CodeChallengeMethod::Plain => verifier.to_owned(),
    }
}

/// §4.6: whether `verifier` matches the stored challenge. A malformed verifier never
/// matches; the comparison takes the same time wherever the first difference is.
pub fn verify(challenge: &CodeChallenge, verifier: &str) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    let computed = challenge_of(verifier, challenge.method);
    computed
        .as_bytes()
        .ct_eq(challenge.challenge.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn s256(challenge: &str) -> CodeChallenge {
        CodeChallenge {
            challenge: challenge.into(),
            method: CodeChallengeMethod::S256,
        }
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(challenge_of(VERIFIER, CodeChallengeMethod::S256), CHALLENGE);
        assert!(verify(&s256(CHALLENGE), VERIFIER));
    }

    #[test]
    fn a_different_verifier_does_not_match() {
        let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(!verify(&s256(CHALLENGE), other));
    }

    #[test]
    fn plain_compares_the_verifier_itself() {
        let c = CodeChallenge {
            challenge: VERIFIER.into(),
            method: CodeChallengeMethod::Plain,
        };
        assert!(verify(&c, VERIFIER));
        assert!(!verify(&c, &VERIFIER.replace('d', "e")));
    }

    #[test]
    fn verifier_syntax() {
        let cases = [
            ("a".repeat(42), false),
            ("a".repeat(43), true),
            ("a".repeat(128), true),
            ("a".repeat(129), false),
            (format!("{}-._~", "A1".repeat(20)), true),
            (format!("{}+", "a".repeat(43)), false),
            (format!("{} ", "a".repeat(43)), false),
            (format!("{}é", "a".repeat(43)), false),
        ];
        for (value, ok) in cases {
            assert_eq!(is_well_formed(&value), ok, "{value:?}");
        }
        // A malformed verifier never matches, even under plain with an equal challenge.
        let short = "a".repeat(10);
        let c = CodeChallenge {
            challenge: short.clone(),
            method: CodeChallengeMethod::Plain,
        };
        assert!(!verify(&c, &short));
    }
}
