//! Opaque tokens, checked by RFC 7662 introspection at the discovered
//! `introspection_endpoint`, as the configured client (`client_secret_basic`, RFC 6749
//! §2.3.1). Active answers are cached (by the token's hash) for the configured TTL, never
//! past the token's `exp`. Inactive answers are not cached: a token made up by an attacker
//! is never asked about twice anyway, so caching it would only push live entries out of
//! the bounded cache, and a client retrying a dead token gets its 401 all the same.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::cache::{cache_until, token_key, TtlCache};
use crate::clock::Clock;
use crate::config::{IntrospectionCredentials, Settings};
use crate::discovery::Discovery;
use crate::fetch;
use crate::{Authenticated, IssuerProblem, Reason, Scheme, Scopes, TokenFormat, TokenProblem};

const WHAT: &str = "the introspection endpoint";

/// application/x-www-form-urlencoded leaves `*-._` and alphanumerics as they are.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// RFC 6749 §2.3.1: the client id and secret are form-urlencoded, then joined by `:` and
/// base64-encoded.
fn basic_authorization(credentials: &IntrospectionCredentials) -> String {
    let id = utf8_percent_encode(&credentials.client_id, FORM);
    let secret = utf8_percent_encode(&credentials.client_secret, FORM);
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The members of an introspection answer that are read (RFC 7662 §2.2).
#[derive(Deserialize)]
pub(crate) struct Answer {
    active: bool,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    cnf: Option<serde_json::Value>,
}

/// Judges an answer at `now`. The issuer decided `active`; this adds the checks a
/// resource server owes its own audience and clock: an answer for another issuer or
/// audience, a refresh token, or a sender-constrained token is no bearer access token
/// for this API.
pub(crate) fn judge(
    answer: Answer,
    settings: &Settings,
    now: i64,
) -> Result<Authenticated, Reason> {
    let invalid = |p| Err(Reason::InvalidToken(p));
    if !answer.active {
        return invalid(TokenProblem::Inactive);
    }
    // RFC 9449 §7.2 / RFC 8705: `cnf` (or `token_type: DPoP`) is a binding, read below for
    // the verifier to match against the scheme.
    let dpop_type = answer
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
    // grantd answers "Bearer" for access tokens and "refresh_token" for refresh tokens.
    if answer.token_type.as_deref().is_some_and(|t| {
        !t.eq_ignore_ascii_case("bearer") && !t.eq_ignore_ascii_case("dpop") && t != "access_token"
    }) {
        return invalid(TokenProblem::Inactive);
    }
    if answer
        .iss
        .as_deref()
        .is_some_and(|iss| iss != settings.issuer)
    {
        return invalid(TokenProblem::Issuer);
    }
    if let Some(aud) = &answer.aud {
        let ours = match aud {
            serde_json::Value::String(one) => *one == settings.audience,
            serde_json::Value::Array(many) => {
                many.iter().any(|a| a.as_str() == Some(&settings.audience))
            }
            _ => false,
        };
        if !ours {
            return invalid(TokenProblem::Audience);
        }
    }
    if answer
        .exp
        .is_some_and(|exp| now >= exp.saturating_add(settings.leeway))
    {
        return invalid(TokenProblem::Expired);
    }
    if answer
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(settings.leeway))
    {
        return invalid(TokenProblem::NotYetValid);
    }
    let (Some(sub), Some(client_id)) = (answer.sub, answer.client_id) else {
        // The issuer vouched for a token without saying for whom: not the token's fault.
        return Err(Reason::IssuerUnavailable(IssuerProblem::BadDocument {
            what: WHAT,
            detail: "an active answer without sub or client_id".into(),
        }));
    };
    let mut authenticated = Authenticated {
        sub,
        client_id,
        scope: Scopes::from_delimited(answer.scope.as_deref().unwrap_or("")),
        exp: answer.exp,
        iat: answer.iat,
        username: answer.username,
        format: TokenFormat::Introspected,
        scheme: Scheme::Bearer,
        jkt: None,
        other_binding: false,
        realm: None,
        dpop: false,
    }
    .bind(answer.cnf.as_ref());
    // `token_type: DPoP` without a `jkt` is bound to a key this crate cannot name.
    authenticated.other_binding |= dpop_type && authenticated.jkt.is_none();
    Ok(authenticated)
}

pub(crate) struct Introspector {
    discovery: Arc<Discovery>,
    http: reqwest::Client,
    authorization: String,
    settings: Settings,
    clock: Arc<dyn Clock>,
    cache: Mutex<TtlCache<Authenticated>>,
    pub(crate) requests: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
}

impl Introspector {
    pub(crate) fn new(
        discovery: Arc<Discovery>,
        http: reqwest::Client,
        credentials: &IntrospectionCredentials,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            discovery,
            http,
            authorization: basic_authorization(credentials),
            cache: Mutex::new(TtlCache::new(settings.cache_max_entries)),
            settings,
            clock,
            requests: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TtlCache<Authenticated>> {
        match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) async fn check(&self, token: &str) -> Result<Authenticated, Reason> {
        let key = token_key(token);
        if let Some(hit) = self.cache().get(&key, self.clock.now()) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let metadata = self
            .discovery
            .metadata()
            .await
            .map_err(Reason::IssuerUnavailable)?;
        let endpoint =
            metadata
                .introspection_endpoint
                .as_deref()
                .ok_or(Reason::IssuerUnavailable(IssuerProblem::MissingEndpoint(
                    "introspection_endpoint",
                )))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let request = self
            .http
            .post(endpoint)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        let body = fetch::send(request, WHAT).await.map_err(|problem| {
            // A 401 here means this resource server's own credentials are wrong.
            tracing::warn!(%problem, "introspection failed");
            Reason::IssuerUnavailable(problem)
        })?;
        let answer: Answer = fetch::json(&body, WHAT).map_err(Reason::IssuerUnavailable)?;
        let now = self.clock.now();
        let authenticated = judge(answer, &self.settings, now)?;
        if let Some(until) = cache_until(now, self.settings.cache_ttl, authenticated.exp) {
            self.cache().insert(key, authenticated.clone(), until, now);
        }
        Ok(authenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> Settings {
        Settings {
            issuer: "http://as.example".into(),
            audience: "https://api.example".into(),
            leeway: 30,
            algorithms: vec![],
            refetch_interval: 30,
            jwks_max_age: 300,
            cache_ttl: Duration::from_secs(60).as_secs() as i64,
            cache_max_entries: 10,
            realm: None,
            dpop: true,
            dpop_window: 60,
            public_base_url: None,
            dpop_nonces: None,
        }
    }

    fn answer(json: serde_json::Value) -> Answer {
        serde_json::from_value(json).unwrap()
    }

    fn active(extra: serde_json::Value) -> Answer {
        let mut base = serde_json::json!({
            "active": true, "sub": "user-1", "client_id": "app", "scope": "read write",
            "token_type": "Bearer", "exp": 2000, "iat": 1000,
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        answer(base)
    }

    #[test]
    fn an_active_bearer_answer_is_accepted() {
        let a = judge(
            active(serde_json::json!({"username": "alice"})),
            &settings(),
            1500,
        )
        .unwrap();
        assert_eq!((a.sub.as_str(), a.client_id.as_str()), ("user-1", "app"));
        assert_eq!(a.scope.to_string(), "read write");
        assert_eq!((a.exp, a.username.as_deref()), (Some(2000), Some("alice")));
        assert_eq!(a.format, TokenFormat::Introspected);
    }

    #[test]
    fn inactive_and_non_access_tokens_are_refused() {
        let refused = |a: Answer| judge(a, &settings(), 1500).err();
        let invalid = |p| Some(Reason::InvalidToken(p));
        assert_eq!(
            refused(answer(serde_json::json!({"active": false}))),
            invalid(TokenProblem::Inactive)
        );
        assert_eq!(
            refused(active(serde_json::json!({"token_type": "refresh_token"}))),
            invalid(TokenProblem::Inactive)
        );
        let bound = |extra| judge(active(extra), &settings(), 1500).unwrap();
        let dpop_without_jkt = bound(serde_json::json!({"token_type": "DPoP"}));
        assert!(
            dpop_without_jkt.other_binding,
            "bound to a key it does not name"
        );
        let dpop = bound(serde_json::json!({"token_type": "DPoP", "cnf": {"jkt": "x"}}));
        assert_eq!(
            (dpop.jkt.as_deref(), dpop.other_binding),
            (Some("x"), false)
        );
        let mtls = bound(serde_json::json!({"cnf": {"x5t#S256": "x"}}));
        assert!(mtls.other_binding);
        let bearer = bound(serde_json::json!({}));
        assert_eq!((bearer.jkt, bearer.other_binding), (None, false));
        assert_eq!(
            refused(active(serde_json::json!({"iss": "http://other.example"}))),
            invalid(TokenProblem::Issuer)
        );
        assert_eq!(
            refused(active(
                serde_json::json!({"aud": ["https://other.example"]})
            )),
            invalid(TokenProblem::Audience)
        );
        assert!(judge(
            active(serde_json::json!({"aud": ["x", "https://api.example"]})),
            &settings(),
            1500
        )
        .is_ok());
        assert!(judge(
            active(serde_json::json!({"aud": "https://api.example"})),
            &settings(),
            1500
        )
        .is_ok());
    }

    #[test]
    fn expiry_is_checked_with_leeway() {
        assert!(
            judge(active(serde_json::json!({})), &settings(), 2029).is_ok(),
            "within leeway"
        );
        assert_eq!(
            judge(active(serde_json::json!({})), &settings(), 2030).err(),
            Some(Reason::InvalidToken(TokenProblem::Expired))
        );
        assert_eq!(
            judge(active(serde_json::json!({"nbf": 1600})), &settings(), 1500).err(),
            Some(Reason::InvalidToken(TokenProblem::NotYetValid))
        );
    }

    #[test]
    fn an_active_answer_without_a_subject_is_the_issuers_fault() {
        let a = answer(serde_json::json!({"active": true, "scope": "read"}));
        assert!(matches!(
            judge(a, &settings(), 1500),
            Err(Reason::IssuerUnavailable(_))
        ));
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_first() {
        let header = basic_authorization(&IntrospectionCredentials {
            client_id: "rs 1".into(),
            client_secret: "a:b+c".into(),
        });
        let decoded = STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "rs%201:a%3Ab%2Bc");
    }
}
