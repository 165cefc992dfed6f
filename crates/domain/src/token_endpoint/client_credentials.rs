//! The client credentials grant (RFC 6749 §4.4): the client acts for itself.

use grantd_ports::{Client, Subject};

use crate::{scope_rules, TokenError, TokenResponse};

use super::TokenService;

impl TokenService {
    pub(super) fn client_credentials_grant(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        // §4.4: "MUST only be used by confidential clients".
        if client.is_public() {
            return Err(TokenError::UnauthorizedClient(
                "client_credentials is only for confidential clients",
            ));
        }
        let requested = scope_rules::parse_requested(scope)?;
        let scope = scope_rules::for_new_grant(requested, &client.scopes)?;
        // §4.4.3: "A refresh token SHOULD NOT be included": issue_new_grant issues none.
        self.issue_new_grant(client, Subject::Client, scope)
    }
}
