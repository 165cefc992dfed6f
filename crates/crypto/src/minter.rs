//! Tokens and ids from the operating system's CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use grantd_ports::{PlainToken, TokenKind, TokenMinter};
use rand::rngs::OsRng;
use rand::RngCore;

#[derive(Debug, Clone, Copy, Default)]
pub struct OsTokenMinter;

impl TokenMinter for OsTokenMinter {
    fn mint(&self, kind: TokenKind) -> PlainToken {
        let mut bytes = [0u8; TokenKind::RANDOM_BYTES];
        OsRng.fill_bytes(&mut bytes);
        kind.encode(&bytes)
    }

    fn mint_id(&self) -> String {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_well_formed_and_distinct() {
        let a = OsTokenMinter.mint(TokenKind::Refresh);
        let b = OsTokenMinter.mint(TokenKind::Refresh);
        assert!(TokenKind::Refresh.is_well_formed(a.expose()));
        assert_ne!(a, b);
        assert_eq!(OsTokenMinter.mint_id().len(), 22);
    }
}
