//! The resource owner password credentials grant (RFC 6749 §4.3). RFC 9700 §2.4 says not to
//! use it; grantd keeps it for existing clients, only for clients registered with it, and
//! limits failed attempts per username (§4.3.2: "MUST protect the endpoint against brute
//! force attacks").

use grantd_ports::{Client, Subject, User, Username};

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

        let now = self.ports.clock.now();
        self.user_failures
            .check(username, now)
            .map_err(|retry_after| TokenError::TooManyAttempts { retry_after })?;
        let result = self.check_password(username, password);
        if matches!(result, Err(TokenError::InvalidGrant(_))) {
            self.user_failures.record_failure(username, now);
        }
        let user = result?;
        self.issue_new_grant(
            client,
            Subject::User {
                id: user.id,
                username: user.username,
            },
            scope,
        )
    }

    /// The user behind a username and password, or `invalid_grant` with one message for
    /// every failure.
    pub(crate) fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<User, TokenError> {
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
        Ok(user)
    }
}
