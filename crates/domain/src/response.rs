//! A successful token response (RFC 6749 §5.1), before it is serialised by the edge.

use grantd_ports::{PlainToken, ScopeSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: PlainToken,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub scope: ScopeSet,
    pub refresh_token: Option<PlainToken>,
    /// OpenID Connect Core §3.1.3.3: for a grant with `openid` acting for a user.
    pub id_token: Option<PlainToken>,
    /// The access token is bound to a DPoP key (RFC 9449 §5).
    pub dpop_bound: bool,
}

impl TokenResponse {
    /// RFC 6750's `Bearer`, or RFC 9449 §5's `DPoP` for a bound access token.
    pub fn token_type(&self) -> &'static str {
        if self.dpop_bound {
            "DPoP"
        } else {
            "Bearer"
        }
    }
}
