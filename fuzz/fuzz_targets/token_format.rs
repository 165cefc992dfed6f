//! The token format: `TokenKind::is_well_formed` on any string never panics, accepts only
//! the exact length and its own prefix, and hashing a presented token is total and
//! deterministic (the hash is the only form ever stored or compared).
#![no_main]

use grantd_ports::{PlainToken, TokenKind};
use libfuzzer_sys::fuzz_target;

const KINDS: [TokenKind; 4] = [
    TokenKind::Access,
    TokenKind::Refresh,
    TokenKind::AuthorizationCode,
    TokenKind::ClientSecret,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        // The random part: any 32 bytes encode to a well-formed token of each kind.
        if let Ok(bytes) = <[u8; TokenKind::RANDOM_BYTES]>::try_from(data) {
            for kind in KINDS {
                let token = kind.encode(&bytes);
                assert!(kind.is_well_formed(token.expose()));
            }
        }
        return;
    };
    for kind in KINDS {
        if kind.is_well_formed(text) {
            assert_eq!(text.len(), TokenKind::ENCODED_LEN);
            assert!(text.starts_with(kind.prefix()));
        }
    }
    let presented = PlainToken::from_presented(text);
    assert_eq!(presented.hash(), PlainToken::from_presented(text).hash());
});
