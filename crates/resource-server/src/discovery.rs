//! RFC 8414 discovery: the issuer's metadata document, fetched once on first use, where
//! the JWKS and the introspection endpoint are found. The document's `issuer` must be
//! the configured one (§3.3), or nothing it names is trusted. A failed fetch is retried
//! at most once per refetch interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use reqwest::Url;
use serde::Deserialize;

use crate::clock::Clock;
use crate::fetch;
use crate::IssuerProblem;

const WHAT: &str = "the authorization server metadata";

/// What the verifier reads of the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Metadata {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) introspection_endpoint: Option<String>,
}

/// RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path, so
/// `https://as.example/tenant` is described at
/// `https://as.example/.well-known/oauth-authorization-server/tenant`.
pub(crate) fn metadata_url(issuer: &Url) -> String {
    let path = issuer.path().trim_end_matches('/');
    format!(
        "{}/.well-known/oauth-authorization-server{path}",
        issuer.origin().ascii_serialization()
    )
}

pub(crate) struct Discovery {
    url: String,
    issuer: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    retry_interval: i64,
    found: RwLock<Option<Arc<Metadata>>>,
    /// Held while fetching, so that concurrent first requests fetch once; holds the time of
    /// the last failed fetch.
    fetching: tokio::sync::Mutex<Option<i64>>,
    pub(crate) fetches: AtomicU64,
}

impl Discovery {
    pub(crate) fn new(
        issuer: &Url,
        issuer_text: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        retry_interval: i64,
    ) -> Self {
        Self {
            url: metadata_url(issuer),
            issuer: issuer_text.to_owned(),
            http,
            clock,
            retry_interval,
            found: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    fn known(&self) -> Option<Arc<Metadata>> {
        match self.found.read() {
            Ok(found) => found.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The metadata, fetched on the first call.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, IssuerProblem> {
        if let Some(found) = self.known() {
            return Ok(found);
        }
        let mut failed_at = self.fetching.lock().await;
        if let Some(found) = self.known() {
            return Ok(found);
        }
        let now = self.clock.now();
        if failed_at.is_some_and(|at| now - at < self.retry_interval) {
            return Err(IssuerProblem::RetryLater);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch().await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                match self.found.write() {
                    Ok(mut found) => *found = Some(metadata.clone()),
                    Err(poisoned) => *poisoned.into_inner() = Some(metadata.clone()),
                }
                *failed_at = None;
                Ok(metadata)
            }
            Err(problem) => {
                tracing::warn!(url = %self.url, %problem, "discovery failed");
                *failed_at = Some(now);
                Err(problem)
            }
        }
    }

    async fn fetch(&self) -> Result<Metadata, IssuerProblem> {
        let body = fetch::send(self.http.get(&self.url), WHAT).await?;
        let metadata: Metadata = fetch::json(&body, WHAT)?;
        if metadata.issuer != self.issuer {
            return Err(IssuerProblem::IssuerMismatch {
                expected: self.issuer.clone(),
                found: metadata.issuer,
            });
        }
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(issuer: &str) -> String {
        metadata_url(&Url::parse(issuer).unwrap())
    }

    #[test]
    fn the_well_known_path_goes_before_the_issuers_path() {
        assert_eq!(
            url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            url("https://as.example/"),
            "https://as.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            url("https://as.example/tenant/a"),
            "https://as.example/.well-known/oauth-authorization-server/tenant/a"
        );
    }
}
