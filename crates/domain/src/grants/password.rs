//! The resource owner password credentials grant (RFC 6749 §4.3). RFC 9700 §2.4 says not to
//! use it; grantd keeps it for existing clients, only for clients registered with it.

use grantd_ports::{Client, Subject, Username};

use crate::{scope_rules, TokenError, TokenResponse};

use super::TokenService;

const BAD_CREDENTIALS: &str = "invalid username or password";

impl TokenService {
    pub(super) fn password_grant(
        &self,
        client: &Client,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let requested = scope_rules::parse_requested(scope)?;
        let scope = scope_rules::for_new_grant(requested, &client.scopes)?;

        let Ok(username) = Username::parse(username) else {
            self.ports.hasher.burn_password_verification();
            return Err(TokenError::InvalidGrant(BAD_CREDENTIALS));
        };
        let Some(user) = self.ports.users.find_user_by_username(&username)? else {
            // Same time as a wrong password: no user enumeration by timing.
            self.ports.hasher.burn_password_verification();
            return Err(TokenError::InvalidGrant(BAD_CREDENTIALS));
        };
        // The password is checked before `disabled`, so a wrong guess learns nothing.
        if !self.ports.hasher.verify(password, &user.password) || user.disabled {
            return Err(TokenError::InvalidGrant(BAD_CREDENTIALS));
        }
        self.issue_new_grant(
            client,
            Subject::User {
                id: user.id,
                username: user.username,
            },
            scope,
        )
    }
}
