//! The one route table: every path grantd serves and the endpoint that answers it. The
//! router (`crate::routes`) mounts exactly these entries, and the request counter labels
//! a request with its entry's path, so the two cannot drift apart; a request that matched
//! no entry is `unmatched` (never its raw path, which a client chooses and which could
//! carry a token in a query string).

/// What answers a path, and with which methods (see `crate::routes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET`/`POST`: the login and consent pages (RFC 6749 §4.1.1).
    Authorize,
    /// `GET`: RP-initiated logout (OpenID Connect); `POST`: the pages' sign-out form and
    /// its confirmation. Both end the login session of those pages.
    Logout,
    /// `GET`/`POST`: the account page (the applications holding a person's grants).
    Account,
    /// `GET`: the pages' stylesheet.
    Stylesheet,
    /// `GET`: the demo client's redirect URI, served only with `demo_callback`.
    DemoCallback,
    /// `POST` (RFC 6749 §3.2).
    Token,
    /// `POST` (RFC 7009).
    Revoke,
    /// `POST` (RFC 7662).
    Introspect,
    /// `POST` (RFC 7591 §3): dynamic client registration, with `registration.enabled`.
    Register,
    /// `GET`/`PUT`/`DELETE` (RFC 7592 §2): a registered client's configuration.
    ClientConfiguration,
    /// `GET` (RFC 8414).
    Metadata,
    /// `GET` (RFC 7517): the published signing keys.
    Jwks,
    /// `GET` (OpenID Connect Discovery 1.0), only with signing keys.
    OpenIdConfiguration,
    /// `GET`/`POST` (OpenID Connect Core §5.3).
    Userinfo,
    /// `GET`: the sample protected resource (RFC 6750).
    Me,
    /// `GET`: liveness.
    Healthz,
    /// `GET`: readiness.
    Readyz,
    /// `GET`: Prometheus.
    Metrics,
}

/// Every route, path first.
pub(crate) const ROUTES: [(&str, Endpoint); 18] = [
    ("/oauth/authorize", Endpoint::Authorize),
    ("/oauth/logout", Endpoint::Logout),
    ("/account", Endpoint::Account),
    ("/assets/grantd.css", Endpoint::Stylesheet),
    ("/callback", Endpoint::DemoCallback),
    ("/oauth/token", Endpoint::Token),
    ("/oauth/revoke", Endpoint::Revoke),
    ("/oauth/introspect", Endpoint::Introspect),
    ("/oauth/register", Endpoint::Register),
    ("/oauth/register/{client_id}", Endpoint::ClientConfiguration),
    (
        "/.well-known/oauth-authorization-server",
        Endpoint::Metadata,
    ),
    ("/.well-known/jwks.json", Endpoint::Jwks),
    (
        "/.well-known/openid-configuration",
        Endpoint::OpenIdConfiguration,
    ),
    ("/oauth/userinfo", Endpoint::Userinfo),
    ("/api/me", Endpoint::Me),
    ("/healthz", Endpoint::Healthz),
    ("/readyz", Endpoint::Readyz),
    ("/metrics", Endpoint::Metrics),
];

/// The `endpoint` label of a request whose matched route pattern is `pattern`.
pub(crate) fn endpoint_label(pattern: Option<&str>) -> &'static str {
    // The admin listener's routes share one label: their paths carry ids.
    if pattern.is_some_and(|p| p.starts_with("/admin/")) {
        return "/admin";
    }
    pattern
        .and_then(|p| ROUTES.iter().find(|(path, _)| *path == p))
        .map_or("unmatched", |(path, _)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_route_table_only() {
        assert_eq!(endpoint_label(Some("/oauth/token")), "/oauth/token");
        assert_eq!(endpoint_label(Some("/metrics")), "/metrics");
        assert_eq!(endpoint_label(Some("/anything/{x}")), "unmatched");
        assert_eq!(endpoint_label(None), "unmatched");
    }
}
