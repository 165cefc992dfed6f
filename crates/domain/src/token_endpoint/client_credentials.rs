//! The client credentials grant (RFC 6749 §4.4): the client acts for itself.

use grantd_ports::{Client, ResourceSet, Subject};

use crate::resource_indicators::Targets;
use crate::{scope_rules, TokenError, TokenResponse};

use super::TokenEndpoint;

impl TokenEndpoint {
    pub(super) fn client_credentials_grant(
        &self,
        client: &Client,
        scope: Option<&str>,
        resources: &ResourceSet,
    ) -> Result<TokenResponse, TokenError> {
        // §4.4: "MUST only be used by confidential clients".
        if client.is_public() {
            return Err(TokenError::UnauthorizedClient(
                "client_credentials is only for confidential clients",
            ));
        }
        let requested = scope_rules::parse_requested(scope)?;
        // §3.3: omitted = the client's default scopes; never an unregistered one.
        let scope = scope_rules::for_new_grant(
            requested,
            client,
            &self.scopes,
            scope_rules::GrantFlow::ClientCredentials,
        )?;
        // §4.4.3: "A refresh token SHOULD NOT be included": issue_new_grant issues none.
        let targets = Targets::all(resources.clone());
        self.issue_new_grant(client, Subject::Client, scope, targets, &Default::default())
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use crate::{GrantRequest, TokenError, TokenRequest};

    #[test]
    fn client_credentials_issue_no_refresh_token() {
        let mut d = Doubles::new();
        d.tokens.expect_issue().times(1).returning(|i| {
            assert!(i.refresh.is_none());
            assert_eq!(i.grant.subject, grantd_ports::Subject::Client);
            Ok(())
        });
        let req = TokenRequest {
            client: basic("app", SECRET),
            grant: GrantRequest::ClientCredentials { scope: None },
            source_address: SOURCE,
            resources: vec![],
            arrived_at_ms: NOW_MS,
            dpop_proof: None,
        };
        let r = d.token().respond(&req).unwrap();
        assert!(r.refresh_token.is_none());
    }

    #[test]
    fn an_omitted_scope_gets_the_clients_default_scopes() {
        for (own, expected) in [(None, "read write"), (Some("write"), "write")] {
            let mut d = Doubles::new();
            d.clients.checkpoint();
            d.clients.expect_find_client().returning(move |_| {
                let mut c = client("app", true);
                c.scopes = grantd_ports::ScopeSet::parse("read write profile").unwrap();
                c.default_scopes = own.map(|o| grantd_ports::ScopeSet::parse(o).unwrap());
                Ok(Some(c))
            });
            d.tokens.expect_issue().times(1).returning(move |i| {
                assert_eq!(i.grant.scope.to_delimited(), expected);
                Ok(())
            });
            let req = TokenRequest {
                client: basic("app", SECRET),
                grant: GrantRequest::ClientCredentials { scope: None },
                source_address: SOURCE,
                resources: vec![],
                arrived_at_ms: NOW_MS,
                dpop_proof: None,
            };
            assert_eq!(
                d.token().respond(&req).unwrap().scope.to_delimited(),
                expected
            );
        }
    }

    #[test]
    fn client_credentials_refused_to_public_clients() {
        let mut d = Doubles::new();
        d.tokens.expect_issue().never();
        let req = TokenRequest {
            client: id_only("public"),
            grant: GrantRequest::ClientCredentials { scope: None },
            source_address: SOURCE,
            resources: vec![],
            arrived_at_ms: NOW_MS,
            dpop_proof: None,
        };
        assert!(matches!(
            d.token().respond(&req).unwrap_err(),
            TokenError::UnauthorizedClient(_)
        ));
    }
}
