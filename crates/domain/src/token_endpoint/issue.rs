//! A first issuance (password, client credentials, the code grant): a new grant
//! with its first access token and, where the grant carries one, its first refresh token,
//! stored in one transaction before anything is returned.

use grantd_ports::{
    AccessToken, Client, GrantId, GrantRecord, GrantType, Issuance, NewRefreshToken, ScopeSet,
    Subject, TokenKind, UnixTime,
};

use crate::id_token::{self, Authentication};
use crate::lifetimes::Lifetimes;
use crate::resource_indicators::Targets;
use crate::{TokenError, TokenResponse};

use super::TokenEndpoint;

impl TokenEndpoint {
    /// Creates a grant for `subject` with `scope` and `targets.grant` (RFC 8707) and returns
    /// its first tokens, the access token for `targets.token`. A refresh
    /// token is issued only to a client allowed the `refresh_token` grant (it could not
    /// use one otherwise), never for `Subject::Client` (RFC 6749 §4.4.3), and with
    /// `openid` only alongside `offline_access` (OpenID Connect Core §11, as configured).
    /// A grant with `openid` acting for a user also gets an id token.
    pub(super) fn issue_new_grant(
        &self,
        client: &Client,
        subject: Subject,
        scope: ScopeSet,
        targets: Targets,
        authentication: &Authentication,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.ports.clock.now();
        let (issuance, response) =
            self.new_issuance(client, subject, scope, targets, now, authentication)?;
        self.ports.tokens.issue(&issuance)?;
        Ok(response)
    }

    /// Mints a new grant's first tokens and returns what to store and what to answer,
    /// writing nothing: the code exchange writes the issuance inside its own transaction.
    pub(super) fn new_issuance(
        &self,
        client: &Client,
        subject: Subject,
        scope: ScopeSet,
        targets: Targets,
        now: UnixTime,
        authentication: &Authentication,
    ) -> Result<(Issuance, TokenResponse), TokenError> {
        self.openid_available(&scope)?;
        let auth_time = authentication.auth_time;
        let lifetimes = Lifetimes::for_client(&self.settings, client);
        let with_refresh = matches!(subject, Subject::User { .. })
            && client.allows(GrantType::RefreshToken)
            && id_token::allows_refresh(&self.settings.oidc, &scope);
        let grant_id = GrantId::parse(&self.ports.minter.mint_id())
            .map_err(|e| TokenError::Store(grantd_ports::StoreError::Other(e.to_string())))?;
        let cap = if with_refresh {
            lifetimes.grant_expiry(now)
        } else {
            None
        };
        let access_expires_at = lifetimes.access_expiry(now, cap);
        // A grant without a refresh token ends with its access token.
        let grant_expires_at = if with_refresh {
            cap
        } else {
            Some(access_expires_at)
        };

        let access_token = self.mint(TokenKind::Access);
        let (handed_out, audience) = self.handed_out(
            client,
            &subject,
            &scope,
            &targets.token,
            &access_token,
            now,
            access_expires_at,
            auth_time,
        )?;
        let id_token = self.id_token(client, &subject, &scope, authentication, &handed_out, now)?;
        let refresh_token = with_refresh.then(|| self.mint(TokenKind::Refresh));
        let issuance = Issuance {
            grant: GrantRecord {
                id: grant_id.clone(),
                client_id: client.id.clone(),
                subject,
                scope: scope.clone(),
                resources: targets.grant,
                created_at: now,
                expires_at: grant_expires_at,
                revoked_at: None,
                auth_time,
                dpop_jkt: self.grant_jkt(client),
            },
            access: AccessToken {
                hash: access_token.hash(),
                grant_id: grant_id.clone(),
                scope: scope.clone(),
                audience,
                issued_at: now,
                expires_at: access_expires_at,
                revoked_at: None,
                dpop_jkt: self.bound_jkt(),
            },
            refresh: refresh_token.as_ref().map(|t| NewRefreshToken {
                hash: t.hash(),
                grant_id: grant_id.clone(),
                issued_at: now,
                expires_at: lifetimes.refresh_expiry(now, cap),
            }),
        };
        let response = TokenResponse {
            access_token: handed_out,
            expires_in: access_expires_at - now,
            scope,
            refresh_token,
            id_token,
            dpop_bound: self.bound_to.is_some(),
        };
        Ok((issuance, response))
    }
}
