//! `grantd serve --demo`: the well-known demo client and user, and the curl lines that walk
//! through the refresh token flow against them. For trying grantd out on a local machine
//! only; `serve` calls [`seed`] and [`print_instructions`], or without `--demo`
//! [`warn_if_seeded`] (the credentials outlive the demo in the database), and knows nothing
//! else of it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use grantd_domain::accounts::NewPassword;
use grantd_domain::{PortSet, ScopeRegistry};
use grantd_ports::{ClientId, GrantType, ScopeSet, Username};

use crate::commands::{create_client, create_user, ClientUpdate, NewClient};

/// The demo's fixed, public credentials. They are printed on every `serve --demo`, so
/// they protect nothing: for trying grantd out on a local machine only.
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-password";
const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

/// Creates the demo client and user unless they exist (an existing one is left as is, so
/// restarting with `--demo` never resets anything). The client may have `read`, `write`,
/// `profile` and the OpenID Connect scopes (`openid`, `email`, `offline_access`); a
/// request without `scope` gets the registry's defaults (`read write`).
pub fn seed(ports: &PortSet, scopes: &ScopeRegistry) -> anyhow::Result<()> {
    let client_id = ClientId::parse(DEMO_CLIENT_ID).map_err(anyhow::Error::msg)?;
    if ports
        .clients
        .find_client(&client_id)
        .context("cannot look up the demo client")?
        .is_none()
    {
        create_client(
            ports,
            scopes,
            NewClient {
                id: Some(client_id),
                secret: Some(Some(DEMO_CLIENT_SECRET.into())),
                admin: false,
                settings: ClientUpdate {
                    name: "Demo client".into(),
                    grant_types: vec![
                        GrantType::Password,
                        GrantType::RefreshToken,
                        GrantType::AuthorizationCode,
                        GrantType::ClientCredentials,
                    ],
                    scopes: ScopeSet::parse("read write profile openid email offline_access")
                        .map_err(anyhow::Error::msg)?,
                    default_scopes: None,
                    redirect_uris: vec![DEMO_REDIRECT_URI.into()],
                    post_logout_redirect_uris: vec![],
                    can_introspect: true,
                    lifetimes: Default::default(),
                    access_token_format: None,
                    require_dpop: false,
                },
            },
        )?;
        tracing::info!(client_id = DEMO_CLIENT_ID, "created the demo client");
    }
    let username = Username::parse(DEMO_USERNAME).map_err(anyhow::Error::msg)?;
    if ports
        .users
        .find_user_by_username(&username)
        .context("cannot look up the demo user")?
        .is_none()
    {
        let password = NewPassword::parse(DEMO_PASSWORD).map_err(anyhow::Error::msg)?;
        create_user(ports, &username, &password, Default::default())?;
        tracing::info!(username = DEMO_USERNAME, "created the demo user");
    }
    Ok(())
}

/// What of the demo is still in the database: its client, its user, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLeftovers {
    pub client: bool,
    pub user: bool,
}

/// Finds what an earlier `serve --demo` left in the database.
pub fn leftovers(ports: &PortSet) -> anyhow::Result<DemoLeftovers> {
    let client_id = ClientId::parse(DEMO_CLIENT_ID).map_err(anyhow::Error::msg)?;
    let username = Username::parse(DEMO_USERNAME).map_err(anyhow::Error::msg)?;
    Ok(DemoLeftovers {
        client: ports
            .clients
            .find_client(&client_id)
            .context("cannot look up the demo client")?
            .is_some(),
        user: ports
            .users
            .find_user_by_username(&username)
            .context("cannot look up the demo user")?
            .is_some(),
    })
}

/// A `serve` without `--demo` on a database an earlier `serve --demo` seeded: the demo's
/// credentials are printed in the README and on every demo start, so anyone can use them.
/// Warns (log and standard error) with the commands that delete them.
pub fn warn_if_seeded(ports: &PortSet) -> anyhow::Result<()> {
    let left = leftovers(ports)?;
    let mut fixes = Vec::new();
    if left.client {
        fixes.push(format!("grantd client delete {DEMO_CLIENT_ID}"));
    }
    if left.user {
        fixes.push(format!("grantd user delete --username {DEMO_USERNAME}"));
    }
    if fixes.is_empty() {
        return Ok(());
    }
    let what = match (left.client, left.user) {
        (true, true) => format!("client {DEMO_CLIENT_ID} and user {DEMO_USERNAME}"),
        (true, false) => format!("client {DEMO_CLIENT_ID}"),
        _ => format!("user {DEMO_USERNAME}"),
    };
    let fix = fixes.join(" and ");
    tracing::warn!(
        fix = %fix,
        "this database holds the demo {what}, whose credentials are well known (serve --demo): anyone can use them"
    );
    eprintln!(
        "warning: this database holds the demo {what} from `serve --demo`, whose credentials are \
         well known: anyone can use them. Delete them with: {fix}"
    );
    Ok(())
}

/// The whole flow as commands to paste: steps (A)-(B), (C)-(D) and (G)-(H) of RFC 6749 §1.5.
pub fn print_instructions(address: SocketAddr) {
    let base = format!("http://{}", reachable(address));
    eprintln!(
        "warning: --demo uses fixed, well-known credentials (client {DEMO_CLIENT_ID}/{DEMO_CLIENT_SECRET}, \
         user {DEMO_USERNAME}/{DEMO_PASSWORD}): for trying grantd out only, never on a reachable server"
    );
    println!(
        "\n\
# 1. Password grant: get an access token and a refresh token\n\
curl -u {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET} {base}/oauth/token -d 'grant_type=password&username={DEMO_USERNAME}&password={DEMO_PASSWORD}'\n\
\n\
# 2. Call the protected resource (replace ACCESS with access_token from step 1)\n\
curl -H 'Authorization: Bearer ACCESS' {base}/api/me\n\
\n\
# 3. Refresh (replace REFRESH with refresh_token from step 1; it is rotated, so use each one once)\n\
curl -u {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET} {base}/oauth/token -d 'grant_type=refresh_token&refresh_token=REFRESH'\n"
    );
}

/// An address curl can reach: a wildcard bind is reachable on loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::commands::doubles::Doubles;
    use grantd_ports::{SecretHash, User, UserId};

    #[test]
    fn leftovers_name_the_demo_client_and_user_that_exist() {
        let mut d = Doubles::new();
        d.clients.expect_find_client().returning(|id| {
            assert_eq!(id.as_str(), DEMO_CLIENT_ID);
            Ok(None)
        });
        d.users.expect_find_user_by_username().returning(|name| {
            assert_eq!(name.as_str(), DEMO_USERNAME);
            Ok(Some(User {
                id: UserId::parse("u1").unwrap(),
                username: name.clone(),
                password: SecretHash::from_stored("$2b$x".into()),
                disabled: false,
                created_at: 0,
                session_stamp: grantd_ports::SessionStamp::parse("s").unwrap(),
                profile: Default::default(),
            }))
        });
        assert_eq!(
            leftovers(&d.ports()).unwrap(),
            DemoLeftovers {
                client: false,
                user: true
            }
        );
    }

    #[test]
    fn wildcard_binds_are_shown_as_loopback() {
        assert_eq!(
            reachable("0.0.0.0:8080".parse().unwrap()).to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            reachable("[::]:80".parse().unwrap()).to_string(),
            "[::1]:80"
        );
        assert_eq!(
            reachable("10.0.0.5:80".parse().unwrap()).to_string(),
            "10.0.0.5:80"
        );
    }
}
