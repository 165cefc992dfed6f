//! `grantd client …`: register, list, show, delete a client and rotate its secret. A
//! client secret is shown exactly once, when it is minted; afterwards only its bcrypt hash
//! exists. Each command is a use case of `grantd_domain::admin` (the admin API calls the
//! same ones); this module reads flags, words errors as flags and prints.

use std::io::Write;

use anyhow::Context as _;
use grantd_domain::admin::{self, AdminError};
pub use grantd_domain::admin::{ClientUpdate, NewClient};
use grantd_domain::registration;
use grantd_domain::{PortSet, ScopeRegistry};
use grantd_ports::{Client, LifetimeOverrides, ScopeSet};
use serde::Serialize;

use super::print_json;
use crate::cli::{ClientCommand, ClientCreateArgs};

/// What `client create` and `client rotate-secret` print: the only time a secret is shown.
#[derive(Debug, Serialize)]
pub struct IssuedCredentials {
    pub client_id: String,
    /// `None` (JSON null) for a public client.
    pub client_secret: Option<String>,
}

/// A client as `client list` and `client show` print it: never its secret or hash.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub grant_types: Vec<&'static str>,
    pub scope: String,
    /// The client's own default scopes; null = those of `scope` the registry marks default.
    pub default_scope: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user afterwards.
    pub post_logout_redirect_uris: Vec<String>,
    pub introspect: bool,
    pub secret_version: i64,
    /// Per-client lifetimes in seconds; null = the global setting.
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub refresh_token_max_lifetime: Option<i64>,
    /// "opaque" or "jwt"; null = the global setting.
    pub access_token_format: Option<&'static str>,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`; shown only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_dpop: bool,
    /// `--admin`: may get `grantd:admin` through client_credentials; shown only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    pub created_at: i64,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            public: c.is_public(),
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            scope: c.scopes.to_delimited(),
            default_scope: c.default_scopes.as_ref().map(ScopeSet::to_delimited),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            introspect: c.can_introspect,
            access_token_format: c.access_token_format.map(|f| f.as_str()),
            require_dpop: c.require_dpop,
            admin: c.admin,
            secret_version: c.secret_version,
            access_token_lifetime: c.lifetimes.access_token,
            refresh_token_lifetime: c.lifetimes.refresh_token,
            refresh_token_max_lifetime: c.lifetimes.refresh_token_max,
            created_at: c.created_at,
        }
    }
}

/// Runs a `client` command; `scopes` is the configured registry new clients must fit.
pub fn run_client(
    ports: &PortSet,
    scopes: &ScopeRegistry,
    command: &ClientCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let new = new_client_from_args(args)?;
            let issued = create_client(ports, scopes, new)?;
            print_json(out, &issued)
        }
        ClientCommand::List => {
            let clients = ports
                .clients
                .list_clients()
                .context("cannot list clients")?;
            let views: Vec<ClientView> = clients.iter().map(ClientView::from).collect();
            print_json(out, &views)
        }
        ClientCommand::Show { id } => {
            let client = find_client(ports, id)?;
            print_json(out, &ClientView::from(&client))
        }
        ClientCommand::Delete { id } => {
            let revoked = admin::delete_client(ports, id)?;
            writeln!(out, "deleted client {id} (revoked {revoked} grant(s))")?;
            Ok(())
        }
        ClientCommand::RotateSecret { id } => {
            let issued = admin::rotate_client_secret(ports, id).map_err(|e| match e {
                AdminError::Invalid { message, .. } => anyhow::anyhow!("{message}"),
                other => other.into(),
            })?;
            print_json(
                out,
                &IssuedCredentials {
                    client_id: issued.client.id.to_string(),
                    client_secret: issued.secret,
                },
            )
        }
    }
}

/// Reads `client create`'s arguments into a registration (checked by [`create_client`]).
pub fn new_client_from_args(args: &ClientCreateArgs) -> anyhow::Result<NewClient> {
    let grant_types = registration::grant_types(args.grant_types.iter().map(|g| (*g).into()));
    let scopes =
        ScopeSet::parse(&args.scope).map_err(|e| anyhow::anyhow!("invalid --scope: {e}"))?;
    let default_scopes = args
        .default_scope
        .as_deref()
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("invalid --default-scope: {e}"))?;
    Ok(NewClient {
        id: None,
        secret: if args.public { None } else { Some(None) },
        admin: args.admin,
        settings: ClientUpdate {
            name: args.name.clone(),
            grant_types,
            scopes,
            default_scopes,
            redirect_uris: args.redirect_uris.clone(),
            post_logout_redirect_uris: args.post_logout_redirect_uris.clone(),
            can_introspect: args.introspect,
            lifetimes: LifetimeOverrides {
                access_token: args.access_token_lifetime,
                refresh_token: args.refresh_token_lifetime,
                refresh_token_max: args.refresh_token_max_lifetime,
            },
            access_token_format: args.access_token_format.map(Into::into),
            require_dpop: args.require_dpop,
        },
    })
}

/// Registers the client by the domain's rules (`admin::create_client`, the admin API's
/// too) and returns its credentials; the plain secret exists only in the returned value.
pub fn create_client(
    ports: &PortSet,
    scopes: &ScopeRegistry,
    new: NewClient,
) -> anyhow::Result<IssuedCredentials> {
    let issued = admin::create_client(ports, scopes, new).map_err(flag_error)?;
    Ok(IssuedCredentials {
        client_id: issued.client.id.to_string(),
        client_secret: issued.secret,
    })
}

/// On the command line, a refused field is a flag: say which.
fn flag_error(e: AdminError) -> anyhow::Error {
    match e {
        AdminError::Invalid { field: "name", .. } => anyhow::anyhow!("--name must not be empty"),
        AdminError::Invalid { field, message } => match field {
            "scope" | "default_scope" | "post_logout_redirect_uris" | "admin" => {
                let flag = match field {
                    "default_scope" => "default-scope",
                    "post_logout_redirect_uris" => "post-logout-redirect-uri",
                    other => other,
                };
                anyhow::anyhow!("--{flag}: {message}")
            }
            // Redirect URIs and grant types: the message names the value.
            _ => anyhow::anyhow!("{message}"),
        },
        other => other.into(),
    }
}

fn find_client(ports: &PortSet, id: &str) -> anyhow::Result<Client> {
    Ok(admin::find_client(ports, id)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use grantd_ports::{ClientId, GrantType, SecretHash, TokenKind};

    use super::*;
    use crate::commands::doubles::Doubles;

    /// The built-in registry.
    fn registry() -> ScopeRegistry {
        crate::config::ScopesConfig::default()
            .to_registry()
            .unwrap()
    }

    #[test]
    fn deleting_an_unknown_client_is_a_clear_error() {
        let mut d = Doubles::new();
        d.clients.expect_find_client().returning(|_| Ok(None));
        d.tokens.expect_revoke_grants_of_client().never();
        d.clients.expect_delete_client().never();
        let err = run_client(
            &d.ports(),
            &registry(),
            &ClientCommand::Delete { id: "nope".into() },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "no client with id nope");
    }

    #[test]
    fn created_client_secret_is_shown_once_and_stored_hashed() {
        let mut d = Doubles::new();
        d.minter.expect_mint_id().return_const("abc".to_owned());
        d.minter
            .expect_mint()
            .returning(|kind| kind.encode(&[9u8; TokenKind::RANDOM_BYTES]));
        d.hasher
            .expect_hash_client_secret()
            .returning(|s| SecretHash::from_stored(format!("hashed:{}", s.len())));
        d.clients
            .expect_insert_client()
            .withf(|c| {
                c.id.as_str() == "cl_abc"
                    && c.secret.as_ref().is_some_and(|h| h.as_str() == "hashed:47")
                    && c.grant_types == registration::DEFAULT_GRANT_TYPES
            })
            .times(1)
            .returning(|_| Ok(()));
        let args = ClientCreateArgs {
            name: "t".into(),
            public: false,
            grant_types: vec![],
            scope: "read".into(),
            default_scope: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            introspect: false,
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            refresh_token_max_lifetime: None,
            access_token_format: None,
            require_dpop: false,
            admin: false,
        };
        let mut out = Vec::new();
        run_client(
            &d.ports(),
            &registry(),
            &ClientCommand::Create(args),
            &mut out,
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["client_id"], "cl_abc");
        assert!(json["client_secret"].as_str().unwrap().starts_with("gcs_"));
    }

    #[test]
    fn public_clients_have_a_null_secret_and_no_client_credentials() {
        let mut d = Doubles::new();
        d.minter.expect_mint_id().return_const("pub".to_owned());
        d.clients
            .expect_insert_client()
            .withf(|c| c.is_public())
            .times(1)
            .returning(|_| Ok(()));
        let ports = d.ports();
        let mut args = ClientCreateArgs {
            name: "spa".into(),
            public: true,
            grant_types: vec![],
            scope: String::new(),
            default_scope: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            introspect: false,
            access_token_lifetime: Some(300),
            refresh_token_lifetime: None,
            refresh_token_max_lifetime: Some(0),
            access_token_format: Some(crate::cli::AccessTokenFormatArg::Jwt),
            require_dpop: false,
            admin: false,
        };
        let new = new_client_from_args(&args).unwrap();
        assert_eq!(
            new.settings.access_token_format,
            Some(grantd_ports::AccessTokenFormat::Jwt)
        );
        assert_eq!(
            new.settings.lifetimes,
            LifetimeOverrides {
                access_token: Some(300),
                refresh_token: None,
                refresh_token_max: Some(0)
            },
            "per-client lifetimes come from the flags"
        );
        let issued =
            create_client(&ports, &registry(), new_client_from_args(&args).unwrap()).unwrap();
        assert_eq!(issued.client_secret, None);
        assert_eq!(
            serde_json::to_string(&issued).unwrap(),
            r#"{"client_id":"cl_pub","client_secret":null}"#
        );

        args.grant_types = vec![crate::cli::GrantTypeArg::ClientCredentials];
        let err =
            create_client(&ports, &registry(), new_client_from_args(&args).unwrap()).unwrap_err();
        assert!(err.to_string().contains("client_credentials"));
    }

    /// A stored client, as `client show` reads it.
    fn stored_client() -> Client {
        Client {
            id: ClientId::parse("c").unwrap(),
            name: "n".into(),
            secret: None,
            secret_version: 1,
            grant_types: vec![GrantType::Password],
            scopes: ScopeSet::parse("read").unwrap(),
            access_token_format: None,
            default_scopes: None,
            redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
            post_logout_redirect_uris: vec![],
            require_dpop: false,
            admin: false,
        }
    }

    #[test]
    fn client_views_never_carry_the_secret() {
        let client = Client {
            id: ClientId::parse("c").unwrap(),
            name: "n".into(),
            secret: Some(SecretHash::from_stored("$2b$10$secrethash".into())),
            secret_version: 1,
            grant_types: vec![GrantType::Password],
            scopes: ScopeSet::parse("read").unwrap(),
            default_scopes: None,
            redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            access_token_format: None,
            created_at: 0,
            post_logout_redirect_uris: vec![],
            require_dpop: false,
            admin: false,
        };
        let json = serde_json::to_string(&ClientView::from(&client)).unwrap();
        assert!(!json.contains("secrethash"), "{json}");
        assert!(json.contains(r#""grant_types":["password"]"#), "{json}");
    }

    #[test]
    fn a_broken_registration_rule_stores_nothing() {
        let mut d = Doubles::new();
        d.minter.expect_mint_id().never();
        d.clients.expect_insert_client().never();
        let ports = d.ports();
        let new = NewClient {
            id: None,
            secret: Some(None),
            admin: false,
            settings: ClientUpdate {
                name: " ".into(),
                grant_types: registration::DEFAULT_GRANT_TYPES.to_vec(),
                scopes: ScopeSet::parse("read").unwrap(),
                default_scopes: None,
                redirect_uris: vec![],
                post_logout_redirect_uris: vec![],
                can_introspect: false,
                lifetimes: LifetimeOverrides::default(),
                access_token_format: None,
                require_dpop: false,
            },
        };
        let err = create_client(&ports, &registry(), new.clone()).unwrap_err();
        assert_eq!(err.to_string(), "--name must not be empty");
        let new = NewClient {
            settings: ClientUpdate {
                name: "web".into(),
                post_logout_redirect_uris: vec!["/signed-out".into()],
                ..new.settings
            },
            ..new
        };
        let err = create_client(&ports, &registry(), new.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--post-logout-redirect-uri: redirect URI \"/signed-out\" must be an absolute URI (RFC 6749 §3.1.2)"
        );
        let new = NewClient {
            settings: ClientUpdate {
                redirect_uris: vec!["https://app.example/cb#x".into()],
                post_logout_redirect_uris: vec![],
                ..new.settings
            },
            ..new
        };
        let err = create_client(&ports, &registry(), new.clone()).unwrap_err();
        assert!(
            err.to_string().contains("must not have a fragment"),
            "{err}"
        );
        let new = NewClient {
            settings: ClientUpdate {
                redirect_uris: vec![],
                scopes: ScopeSet::parse("read admin").unwrap(),
                ..new.settings
            },
            ..new
        };
        let err = create_client(&ports, &registry(), new.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--scope: scope \"admin\" is not registered (see [scopes] in the configuration)"
        );
        let new = NewClient {
            settings: ClientUpdate {
                scopes: ScopeSet::parse("read").unwrap(),
                default_scopes: Some(ScopeSet::parse("write").unwrap()),
                ..new.settings
            },
            ..new
        };
        let err = create_client(&ports, &registry(), new).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--default-scope: default scope \"write\" is not one of the client's scopes"
        );
    }

    #[test]
    fn own_default_scopes_are_stored_and_shown() {
        let mut d = Doubles::new();
        d.minter.expect_mint_id().return_const("def".to_owned());
        d.clients
            .expect_insert_client()
            .withf(|c| {
                c.scopes.to_delimited() == "profile read write"
                    && c.default_scopes.as_ref().map(ScopeSet::to_delimited)
                        == Some("read".to_owned())
            })
            .times(1)
            .returning(|_| Ok(()));
        let args = ClientCreateArgs {
            name: "spa".into(),
            public: true,
            grant_types: vec![],
            scope: "read write profile".into(),
            default_scope: Some("read".into()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            introspect: false,
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            refresh_token_max_lifetime: None,
            access_token_format: None,
            require_dpop: false,
            admin: false,
        };
        create_client(
            &d.ports(),
            &registry(),
            new_client_from_args(&args).unwrap(),
        )
        .unwrap();
        let bad = ClientCreateArgs {
            default_scope: Some("a\"b".into()),
            ..args
        };
        let err = new_client_from_args(&bad).unwrap_err().to_string();
        assert!(err.starts_with("invalid --default-scope"), "{err}");

        let mut client = stored_client();
        let json = serde_json::to_value(ClientView::from(&client)).unwrap();
        assert_eq!(json["default_scope"], serde_json::Value::Null);
        client.default_scopes = Some(ScopeSet::parse("read").unwrap());
        let json = serde_json::to_value(ClientView::from(&client)).unwrap();
        assert_eq!(json["default_scope"], "read");
    }
}
