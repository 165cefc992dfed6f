//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6).
//! The exchange decision is a pure function; it runs inside the store's redeem
//! transaction, so of two concurrent exchanges of one code exactly one wins. A code
//! presented again is refused, and the grant its first exchange created is revoked when the
//! request would otherwise have been valid (§4.1.2, §10.5; RFC 9700 §4.2.4).

use grantd_ports::{
    AuthorizationCodeRecord, Client, CodeWrite, GrantId, PlainToken, RedeemOutcome, ResourceSet,
    StoreError, Subject, TokenKind, UnixTime, User,
};

use crate::dpop::{self, Jkt};
use crate::id_token::Authentication;
use crate::{pkce, resource_indicators, TokenError, TokenResponse};

use super::TokenEndpoint;

/// Why a presented code is refused. Each is `invalid_grant` (§5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeDenied {
    /// Unknown, or not well-formed.
    Unknown,
    /// Issued to another client (§4.1.3). Nothing changes: the presenter cannot prove it
    /// holds this code, so it must not be able to revoke the grant either.
    WrongClient,
    /// Already exchanged, by a request that would otherwise have been valid (the client
    /// authenticated, the redirect URI and the PKCE verifier match): the grant that exchange
    /// created (if it still exists) is revoked.
    Reused {
        grant_id: Option<GrantId>,
    },
    Expired,
    /// `redirect_uri` differs from the authorization request's (§4.1.3 "identical").
    RedirectUriMismatch,
    /// The verifier is missing, malformed or does not match the challenge, or a verifier
    /// was sent for a code issued without a challenge (a PKCE downgrade).
    PkceFailed,
    /// The code is bound to a DPoP key (`dpop_jkt`, RFC 9449 §10) and the request showed
    /// no proof, or a proof of another key. Nothing changes: without the key the presenter
    /// cannot prove it is the client the code was issued to.
    WrongKey,
    /// The user who approved the request is disabled or gone since: no tokens act for them.
    UserInactive,
}

impl ExchangeDenied {
    pub fn into_error(self) -> TokenError {
        TokenError::InvalidGrant(match self {
            ExchangeDenied::RedirectUriMismatch => {
                "redirect_uri does not match the authorization request"
            }
            ExchangeDenied::PkceFailed => "code_verifier does not match the code_challenge",
            ExchangeDenied::WrongKey => {
                "the authorization code is bound to a DPoP key (dpop_jkt) this request's proof does not show"
            }
            _ => "the authorization code is invalid, expired or already used",
        })
    }
}

/// Decides whether `client` may exchange `code` now, with a DPoP proof of `proof_key` (if
/// the request carried one). Binding first (another client's attempt changes nothing), then
/// the proofs the request carries (redirect URI, PKCE, the DPoP key), then reuse, then
/// expiry.
///
/// The proofs come before reuse so that only a request that would otherwise have been
/// valid can revoke a grant: a leaked used code without its verifier (RFC 7636 §1: the
/// code alone is what an interceptor has) is refused like any bad verifier, and the tokens
/// of the rightful exchange live on. Expiry comes after reuse: a replay of a used code is a
/// theft signal however late it comes (§10.5).
pub fn decide_exchange(
    code: &AuthorizationCodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    proof_key: Option<&Jkt>,
    now: UnixTime,
) -> Result<(), ExchangeDenied> {
    if code.client_id != client.id {
        return Err(ExchangeDenied::WrongClient);
    }
    // §4.1.3: required and identical if the authorization request had it. If it had none,
    // the client's only registered URI was used; repeating that one is fine too.
    let redirect_ok = match (&code.redirect_uri, redirect_uri) {
        (Some(sent), Some(presented)) => sent == presented,
        (Some(_), None) => false,
        (None, None) => true,
        (None, Some(presented)) => client.redirect_uris.as_slice() == [presented],
    };
    if !redirect_ok {
        return Err(ExchangeDenied::RedirectUriMismatch);
    }
    // RFC 7636 §4.6: the verifier must match the challenge; a verifier for a code issued
    // without one is a downgrade attempt.
    let pkce_ok = match (&code.challenge, code_verifier) {
        (Some(challenge), Some(verifier)) => pkce::verify(challenge, verifier),
        (None, None) => true,
        _ => false,
    };
    if !pkce_ok {
        return Err(ExchangeDenied::PkceFailed);
    }
    // RFC 9449 §10: "the authorization server MUST check that the JWK Thumbprint of the
    // DPoP proof ... matches the dpop_jkt value"; a bound code without any proof fails too.
    // Before reuse, like PKCE: a thief of a used code without the key revokes nothing.
    if !dpop::refresh_key_matches(code.dpop_jkt.as_deref(), proof_key) {
        return Err(ExchangeDenied::WrongKey);
    }
    // §4.1.2: "If an authorization code is used more than once, the authorization server
    // MUST deny the request and SHOULD revoke (when possible) all tokens previously issued
    // based on that authorization code."
    if code.redeemed_at.is_some() {
        return Err(ExchangeDenied::Reused {
            grant_id: code.grant_id.clone(),
        });
    }
    if now >= code.expires_at {
        return Err(ExchangeDenied::Expired);
    }
    Ok(())
}

/// Whether the user `code` was issued for may still receive tokens: they exist under that
/// id and are not disabled. Checked at the exchange because a code outlives the login
/// that made it by up to its lifetime.
fn owner_may_act(code: &AuthorizationCodeRecord, user: Option<&User>) -> bool {
    user.is_some_and(|u| u.id == code.user_id && !u.disabled)
}

/// What happened inside the redeem transaction, carried out of the decision closure.
enum Decided {
    Issued(TokenResponse),
    Denied(ExchangeDenied),
    Failed(TokenError),
}

impl TokenEndpoint {
    pub(super) fn authorization_code_grant(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        resources: &ResourceSet,
    ) -> Result<TokenResponse, TokenError> {
        // Garbage never reaches the database.
        if !TokenKind::AuthorizationCode.is_well_formed(code) {
            return Err(ExchangeDenied::Unknown.into_error());
        }
        let presented = PlainToken::from_presented(code);
        let now = self.ports.clock.now();

        let mut decided = None;
        let outcome = self.ports.authorizations.redeem_code(
            &presented.hash(),
            &mut |record: &AuthorizationCodeRecord, user: Option<&User>| {
                if let Err(denied) = decide_exchange(
                    record,
                    client,
                    redirect_uri,
                    code_verifier,
                    self.bound_to.as_ref(),
                    now,
                ) {
                    decided = Some(Decided::Denied(denied));
                    return CodeWrite::Decline;
                }
                if !owner_may_act(record, user) {
                    decided = Some(Decided::Denied(ExchangeDenied::UserInactive));
                    return CodeWrite::Decline;
                }
                // RFC 8707 §2.2: the token request may narrow the code's resources, not add.
                let targets = match resource_indicators::for_exchange(resources, &record.resources)
                {
                    Ok(targets) => targets,
                    Err(refusal) => {
                        decided = Some(Decided::Failed(refusal.into()));
                        return CodeWrite::Decline;
                    }
                };
                let subject = Subject::User {
                    id: record.user_id.clone(),
                    username: record.username.clone(),
                };
                let authentication = Authentication {
                    auth_time: record.auth_time,
                    nonce: record.nonce.clone(),
                };
                let scope = record.scope.clone();
                match self.new_issuance(client, subject, scope, targets, now, &authentication) {
                    Ok((issuance, response)) => {
                        decided = Some(Decided::Issued(response));
                        CodeWrite::Redeem(Box::new(issuance))
                    }
                    Err(e) => {
                        decided = Some(Decided::Failed(e));
                        CodeWrite::Decline
                    }
                }
            },
        )?;

        match (outcome, decided) {
            (RedeemOutcome::Redeemed, Some(Decided::Issued(response))) => Ok(response),
            (RedeemOutcome::NotFound, _) => Err(ExchangeDenied::Unknown.into_error()),
            (RedeemOutcome::Declined, Some(Decided::Denied(denied))) => {
                Err(self.on_exchange_denied(client, denied, now))
            }
            (RedeemOutcome::Declined, Some(Decided::Failed(e))) => Err(e),
            (outcome, _) => Err(TokenError::Store(StoreError::Other(format!(
                "redeem_code returned {outcome:?} against the decision"
            )))),
        }
    }

    /// Turns a denial into the endpoint's error, revoking the first exchange's grant on reuse.
    fn on_exchange_denied(
        &self,
        client: &Client,
        denied: ExchangeDenied,
        now: UnixTime,
    ) -> TokenError {
        if let ExchangeDenied::Reused { grant_id } = &denied {
            tracing::warn!(
                target: "grantd::security",
                event = "authorization_code_reuse",
                client_id = %client.id,
                grant_id = grant_id.as_ref().map(GrantId::as_str).unwrap_or("-"),
                "an authorization code was presented again; revoking its tokens"
            );
            if let Some(grant_id) = grant_id {
                if let Err(e) = self.ports.tokens.revoke_grant(grant_id, now) {
                    // The caller must not think the tokens are dead: retry later.
                    return TokenError::Store(e);
                }
            }
        }
        denied.into_error()
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::{CodeChallenge, CodeChallengeMethod, ScopeSet, TokenHash, UserId, Username};

    use super::*;
    use crate::test_support::{client, NOW};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://app.example/cb";

    fn code() -> AuthorizationCodeRecord {
        AuthorizationCodeRecord {
            hash: TokenHash::of("c"),
            client_id: grantd_ports::ClientId::parse("app").unwrap(),
            user_id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            redirect_uri: Some(CB.into()),
            scope: ScopeSet::parse("read").unwrap(),
            resources: grantd_ports::ResourceSet::empty(),
            challenge: Some(CodeChallenge {
                challenge: CHALLENGE.into(),
                method: CodeChallengeMethod::S256,
            }),
            issued_at: NOW - 10,
            expires_at: NOW + 50,
            redeemed_at: None,
            grant_id: None,
            nonce: None,
            auth_time: None,
            dpop_jkt: None,
        }
    }

    #[test]
    fn exchange_rules_table() {
        let app = {
            let mut c = client("app", true);
            c.redirect_uris = vec![CB.into()];
            c
        };
        let other = client("other", true);
        let redeemed = AuthorizationCodeRecord {
            redeemed_at: Some(NOW - 5),
            grant_id: Some(GrantId::parse("g1").unwrap()),
            ..code()
        };
        let no_pkce = AuthorizationCodeRecord {
            challenge: None,
            ..code()
        };
        let implicit_uri = AuthorizationCodeRecord {
            redirect_uri: None,
            ..code()
        };
        let wrong_verifier = VERIFIER.replace('d', "e");
        type Case<'a> = (
            &'a str,
            AuthorizationCodeRecord,
            &'a Client,
            Option<&'a str>,
            Option<&'a str>,
            UnixTime,
            Result<(), ExchangeDenied>,
        );
        let cases: Vec<Case> = vec![
            ("valid", code(), &app, Some(CB), Some(VERIFIER), NOW, Ok(())),
            (
                "other client",
                code(),
                &other,
                Some(CB),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::WrongClient),
            ),
            (
                "other client, even if redeemed",
                redeemed.clone(),
                &other,
                Some(CB),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::WrongClient),
            ),
            (
                "reused",
                redeemed.clone(),
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::Reused {
                    grant_id: Some(GrantId::parse("g1").unwrap()),
                }),
            ),
            (
                "reused, without the verifier: nothing revoked",
                redeemed.clone(),
                &app,
                Some(CB),
                None,
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
            (
                "reused, with a wrong verifier: nothing revoked",
                redeemed.clone(),
                &app,
                Some(CB),
                Some(&wrong_verifier),
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
            (
                "reused, with another redirect URI: nothing revoked",
                redeemed.clone(),
                &app,
                Some("https://app.example/other"),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::RedirectUriMismatch),
            ),
            (
                "reused after its expiry is still reuse",
                redeemed.clone(),
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW + 50,
                Err(ExchangeDenied::Reused {
                    grant_id: Some(GrantId::parse("g1").unwrap()),
                }),
            ),
            (
                "expired",
                code(),
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW + 50,
                Err(ExchangeDenied::Expired),
            ),
            (
                "last valid second",
                code(),
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW + 49,
                Ok(()),
            ),
            (
                "redirect differs",
                code(),
                &app,
                Some("https://app.example/other"),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::RedirectUriMismatch),
            ),
            (
                "redirect omitted",
                code(),
                &app,
                None,
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::RedirectUriMismatch),
            ),
            (
                "redirect never sent, omitted",
                implicit_uri.clone(),
                &app,
                None,
                Some(VERIFIER),
                NOW,
                Ok(()),
            ),
            (
                "redirect never sent, the only one repeated",
                implicit_uri,
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW,
                Ok(()),
            ),
            (
                "verifier mismatch",
                code(),
                &app,
                Some(CB),
                Some(&wrong_verifier),
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
            (
                "verifier missing",
                code(),
                &app,
                Some(CB),
                None,
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
            (
                "verifier malformed",
                code(),
                &app,
                Some(CB),
                Some("short"),
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
            (
                "no challenge, no verifier",
                no_pkce.clone(),
                &app,
                Some(CB),
                None,
                NOW,
                Ok(()),
            ),
            (
                "no challenge but a verifier (downgrade)",
                no_pkce,
                &app,
                Some(CB),
                Some(VERIFIER),
                NOW,
                Err(ExchangeDenied::PkceFailed),
            ),
        ];
        for (name, record, client, uri, verifier, now, expected) in cases {
            assert_eq!(
                decide_exchange(&record, client, uri, verifier, None, now),
                expected,
                "{name}"
            );
        }
    }

    /// RFC 9449 §10: a code bound by `dpop_jkt` is exchanged only with a proof of that key;
    /// an unbound code takes a request with or without a proof.
    #[test]
    fn a_bound_code_needs_a_proof_of_its_key() {
        let app = {
            let mut c = client("app", true);
            c.redirect_uris = vec![CB.into()];
            c
        };
        let key = Jkt::from_stored("k1".into());
        let other = Jkt::from_stored("k2".into());
        let bound = AuthorizationCodeRecord {
            dpop_jkt: Some("k1".into()),
            ..code()
        };
        let redeemed_bound = AuthorizationCodeRecord {
            redeemed_at: Some(NOW - 5),
            grant_id: Some(GrantId::parse("g1").unwrap()),
            ..bound.clone()
        };
        let unbound = code();
        /// What is checked, the code, the proof's key, and the expected decision.
        type Case<'a> = (
            &'a str,
            &'a AuthorizationCodeRecord,
            Option<&'a Jkt>,
            Result<(), ExchangeDenied>,
        );
        let cases: Vec<Case> = vec![
            ("bound, its key", &bound, Some(&key), Ok(())),
            (
                "bound, another key",
                &bound,
                Some(&other),
                Err(ExchangeDenied::WrongKey),
            ),
            (
                "bound, no proof",
                &bound,
                None,
                Err(ExchangeDenied::WrongKey),
            ),
            ("unbound, a proof", &unbound, Some(&other), Ok(())),
            ("unbound, no proof", &unbound, None, Ok(())),
            (
                "used and bound, another key: refused, revoking nothing",
                &redeemed_bound,
                Some(&other),
                Err(ExchangeDenied::WrongKey),
            ),
            (
                "used and bound, its key: reuse",
                &redeemed_bound,
                Some(&key),
                Err(ExchangeDenied::Reused {
                    grant_id: Some(GrantId::parse("g1").unwrap()),
                }),
            ),
        ];
        for (name, record, proof_key, expected) in cases {
            assert_eq!(
                decide_exchange(record, &app, Some(CB), Some(VERIFIER), proof_key, NOW),
                expected,
                "{name}"
            );
        }
        assert!(matches!(
            ExchangeDenied::WrongKey.into_error(),
            TokenError::InvalidGrant(d) if d.contains("dpop_jkt")
        ));
    }
}

#[cfg(test)]
mod use_case_tests {
    use std::sync::{Arc, Mutex};

    use grantd_ports::{
        ClientId, CodeChallenge, CodeChallengeMethod, GrantType, Issuance, MockClientStore,
        ScopeSet, TokenHash, UserId, Username,
    };
    use mockall::predicate::eq;

    use super::*;
    use crate::test_support::{basic, client, Doubles, NOW, SECRET, SOURCE};
    use crate::{GrantRequest, TokenRequest};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://web.example/cb";

    /// Doubles with a confidential client `web` (authorization_code, refresh_token; one
    /// redirect URI) and `app` (no code grant).
    fn doubles() -> Doubles {
        let mut d = Doubles::new();
        d.clients = MockClientStore::new();
        d.clients.expect_find_client().returning(|id| {
            Ok(match id.as_str() {
                "web" => {
                    let mut c = client("web", true);
                    c.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
                    c.redirect_uris = vec![CB.into()];
                    Some(c)
                }
                "app" => Some(client("app", true)),
                _ => None,
            })
        });
        d
    }

    fn record() -> AuthorizationCodeRecord {
        AuthorizationCodeRecord {
            hash: TokenHash::of("c"),
            client_id: ClientId::parse("web").unwrap(),
            user_id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            redirect_uri: Some(CB.into()),
            scope: ScopeSet::parse("read").unwrap(),
            resources: grantd_ports::ResourceSet::empty(),
            challenge: Some(CodeChallenge {
                challenge: CHALLENGE.into(),
                method: CodeChallengeMethod::S256,
            }),
            issued_at: NOW - 5,
            expires_at: NOW + 55,
            redeemed_at: None,
            grant_id: None,
            nonce: None,
            auth_time: None,
            dpop_jkt: None,
        }
    }

    /// A store whose redeem_code runs the decision against `stored` (with its user
    /// enabled) and records the write.
    fn redeeming(d: &mut Doubles, stored: AuthorizationCodeRecord) -> Arc<Mutex<Vec<Issuance>>> {
        redeeming_for(d, stored, Some(alice(false)))
    }

    /// As `redeeming`, with the code's user as the store reads it now.
    fn redeeming_for(
        d: &mut Doubles,
        stored: AuthorizationCodeRecord,
        user: Option<User>,
    ) -> Arc<Mutex<Vec<Issuance>>> {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let w = writes.clone();
        d.authorizations
            .expect_redeem_code()
            .times(1)
            .returning(move |_, decide| {
                Ok(match decide.decide(&stored, user.as_ref()) {
                    CodeWrite::Redeem(issuance) => {
                        w.lock().unwrap().push(*issuance);
                        RedeemOutcome::Redeemed
                    }
                    CodeWrite::Decline => RedeemOutcome::Declined,
                })
            });
        writes
    }

    fn alice(disabled: bool) -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: grantd_ports::SecretHash::from_stored("hash".into()),
            disabled,
            session_stamp: grantd_ports::SessionStamp::parse("stamp1").unwrap(),
            profile: Default::default(),
            created_at: 0,
        }
    }

    fn exchange(client_id: &str, verifier: &str) -> TokenRequest {
        exchange_with(client_id, Some(verifier))
    }

    fn exchange_with(client_id: &str, verifier: Option<&str>) -> TokenRequest {
        TokenRequest {
            client: basic(client_id, SECRET),
            grant: GrantRequest::AuthorizationCode {
                code: TokenKind::AuthorizationCode
                    .encode(&[3; 32])
                    .expose()
                    .to_owned(),
                redirect_uri: Some(CB.into()),
                code_verifier: verifier.map(str::to_owned),
            },
            source_address: SOURCE,
            resources: vec![],
            arrived_at_ms: NOW * 1000,
            dpop_proof: None,
        }
    }

    #[test]
    fn code_exchange_issues_access_and_refresh_token_inside_the_redeem() {
        let mut d = doubles();
        let writes = redeeming(&mut d, record());
        d.tokens.expect_issue().never();
        let r = d.token().respond(&exchange("web", VERIFIER)).unwrap();
        assert_eq!(r.scope.to_delimited(), "read");
        let writes = writes.lock().unwrap();
        assert_eq!(writes.len(), 1);
        let issuance = &writes[0];
        assert_eq!(issuance.grant.client_id.as_str(), "web");
        assert!(matches!(&issuance.grant.subject, Subject::User { id, .. } if id.as_str() == "u1"));
        assert_eq!(issuance.access.hash, r.access_token.hash());
        assert_eq!(
            issuance.refresh.as_ref().map(|t| t.hash),
            r.refresh_token.map(|t| t.hash())
        );
    }

    #[test]
    fn reused_code_is_refused_and_revokes_the_grant_of_its_first_exchange() {
        let mut d = doubles();
        let stored = AuthorizationCodeRecord {
            redeemed_at: Some(NOW - 2),
            grant_id: Some(GrantId::parse("g1").unwrap()),
            ..record()
        };
        let writes = redeeming(&mut d, stored);
        d.tokens
            .expect_revoke_grant()
            .with(eq(GrantId::parse("g1").unwrap()), eq(NOW))
            .times(1)
            .returning(|_, _| Ok(true));
        let err = d.token().respond(&exchange("web", VERIFIER)).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
        assert!(writes.lock().unwrap().is_empty());
    }

    /// RFC 6749 §4.1.2 asks to revoke on reuse, but only a request that would otherwise
    /// have been valid may: a leaked used code without its verifier revokes nothing.
    #[test]
    fn reused_code_with_a_wrong_or_missing_verifier_revokes_nothing() {
        let wrong = VERIFIER.replace('d', "e");
        for (name, verifier) in [("wrong", Some(wrong.as_str())), ("missing", None)] {
            let mut d = doubles();
            let stored = AuthorizationCodeRecord {
                redeemed_at: Some(NOW - 2),
                grant_id: Some(GrantId::parse("g1").unwrap()),
                ..record()
            };
            let writes = redeeming(&mut d, stored);
            d.tokens.expect_revoke_grant().never();
            let err = d
                .token()
                .respond(&exchange_with("web", verifier))
                .unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidGrant(_)),
                "{name}: {err:?}"
            );
            assert!(writes.lock().unwrap().is_empty(), "{name}");
        }
    }

    #[test]
    fn pkce_mismatch_is_invalid_grant_and_writes_and_revokes_nothing() {
        let mut d = doubles();
        let writes = redeeming(&mut d, record());
        d.tokens.expect_revoke_grant().never();
        let err = d
            .token()
            .respond(&exchange("web", &VERIFIER.replace('d', "e")))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(d) if d.contains("code_verifier")));
        assert!(writes.lock().unwrap().is_empty());
    }

    #[test]
    fn revoke_failure_on_reuse_is_a_store_error_not_a_denial() {
        let mut d = doubles();
        let stored = AuthorizationCodeRecord {
            redeemed_at: Some(NOW - 2),
            grant_id: Some(GrantId::parse("g1").unwrap()),
            ..record()
        };
        redeeming(&mut d, stored);
        d.tokens
            .expect_revoke_grant()
            .returning(|_, _| Err(grantd_ports::StoreError::Unavailable("down".into())));
        let err = d.token().respond(&exchange("web", VERIFIER)).unwrap_err();
        assert!(matches!(err, TokenError::Store(StoreError::Unavailable(_))));
    }

    #[test]
    fn a_disabled_or_vanished_users_unredeemed_code_is_invalid_grant_and_writes_nothing() {
        let other = User {
            id: UserId::parse("u2").unwrap(),
            ..alice(false)
        };
        for user in [Some(alice(true)), None, Some(other)] {
            let mut d = doubles();
            let writes = redeeming_for(&mut d, record(), user.clone());
            d.tokens.expect_revoke_grant().never();
            let err = d.token().respond(&exchange("web", VERIFIER)).unwrap_err();
            assert!(matches!(err, TokenError::InvalidGrant(_)), "{user:?}");
            assert!(writes.lock().unwrap().is_empty(), "{user:?}");
        }
    }

    #[test]
    fn malformed_or_unknown_codes_are_invalid_grant() {
        let mut d = doubles();
        d.authorizations
            .expect_redeem_code()
            .times(1)
            .returning(|_, _| Ok(RedeemOutcome::NotFound));
        let token = d.token();
        let err = token.respond(&exchange("web", VERIFIER)).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
        // Not well-formed: never looked up (the mock allows one call only).
        let mut garbage = exchange("web", VERIFIER);
        garbage.grant = GrantRequest::AuthorizationCode {
            code: "not-a-code".into(),
            redirect_uri: None,
            code_verifier: None,
        };
        assert!(matches!(
            token.respond(&garbage).unwrap_err(),
            TokenError::InvalidGrant(_)
        ));
    }

    #[test]
    fn a_client_without_the_code_grant_is_unauthorized() {
        let mut d = doubles();
        d.authorizations.expect_redeem_code().never();
        let err = d.token().respond(&exchange("app", VERIFIER)).unwrap_err();
        assert!(matches!(err, TokenError::UnauthorizedClient(_)));
    }
}
