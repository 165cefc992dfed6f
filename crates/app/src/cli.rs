//! The command line, as clap derive types: what an operator can type and nothing more.
//! What each command does lives in `commands` and `serve`; this module only parses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use grantd_ports::GrantType;

/// The whole command line: the global `--config` and one subcommand. `about` is set here,
/// not taken from the crate's description, which is written for developers.
#[derive(Debug, Parser)]
#[command(
    name = "grantd",
    version,
    about = "grantd: an OAuth 2.0 authorization server built around the refresh token flow",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// A TOML configuration file (it must exist). Without it, config/default.toml is read
    /// if present. GRANTD_<SECTION>__<KEY> environment variables override both.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve HTTP.
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users (resource owners).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage remembered consents of the authorization pages.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Manage the JWT signing keys (list, rotate, retire).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Dynamic client registration (RFC 7591): the initial access tokens it needs.
    #[command(subcommand)]
    Registration(RegistrationCommand),
    /// Delete expired tokens and codes and ended grants in small batches; prints the
    /// counts as JSON. Safe beside a running server.
    Prune,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Create a demo client and user if absent (well-known credentials: for trying grantd
    /// out only) and print ready-to-paste curl commands.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and secret (the only time the secret is shown).
    Create(ClientCreateArgs),
    /// List every client as JSON (never secrets).
    List,
    /// Show one client as JSON (never its secret).
    Show {
        /// The client id.
        id: String,
    },
    /// Delete a client after revoking all its grants.
    Delete {
        /// The client id.
        id: String,
    },
    /// Replace a confidential client's secret; prints the new one (shown only this once).
    RotateSecret {
        /// The client id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// A human-readable name.
    #[arg(long)]
    pub name: String,
    /// A public client (RFC 6749 §2.1): no secret, e.g. a native or browser app.
    #[arg(long)]
    pub public: bool,
    /// A grant type the client may use (repeatable). Default: authorization_code and
    /// refresh_token.
    #[arg(long = "grant-type", value_name = "T")]
    pub grant_types: Vec<GrantTypeArg>,
    /// The space-separated scopes the client may request, e.g. "read write"; each must be
    /// registered in [scopes].
    #[arg(long, default_value = "")]
    pub scope: String,
    /// The scopes a request that omits `scope` gets, a subset of --scope, e.g. "read"
    /// ("" = none: every request must name its scope). Default: those of --scope that
    /// [scopes] marks default.
    #[arg(long = "default-scope", value_name = "SCOPES")]
    pub default_scope: Option<String>,
    /// A redirect URI for the authorization code flow (repeatable).
    #[arg(long = "redirect-uri", value_name = "U")]
    pub redirect_uris: Vec<String>,
    /// Where OpenID Connect RP-initiated logout may send the user afterwards (repeatable;
    /// matched exactly, like --redirect-uri).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allow this client to call the introspection endpoint (e.g. a resource server).
    #[arg(long)]
    pub introspect: bool,
    /// Refuse this client's token requests without a DPoP proof (RFC 9449 §5.2
    /// `dpop_bound_access_tokens`): every access token it gets is DPoP-bound.
    #[arg(long)]
    pub require_dpop: bool,
    /// An admin client: it may get the scope grantd:admin through client_credentials (both
    /// added), whose access token opens the admin API (server.admin_bind). Confidential only.
    #[arg(long)]
    pub admin: bool,
    /// This client's access token lifetime in seconds (default: tokens.access_token_lifetime).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(i64).range(1..))]
    pub access_token_lifetime: Option<i64>,
    /// This client's refresh token lifetime in seconds (default: tokens.refresh_token_lifetime).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(i64).range(1..))]
    pub refresh_token_lifetime: Option<i64>,
    /// This client's absolute grant cap in seconds, 0 = none (default:
    /// tokens.refresh_token_max_lifetime).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(i64).range(0..))]
    pub refresh_token_max_lifetime: Option<i64>,
    /// This client's access tokens: opaque or jwt (RFC 9068); default: tokens.access_token_format.
    #[arg(long, value_name = "FORMAT")]
    pub access_token_format: Option<AccessTokenFormatArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessTokenFormatArg {
    Opaque,
    Jwt,
}

impl From<AccessTokenFormatArg> for grantd_ports::AccessTokenFormat {
    fn from(value: AccessTokenFormatArg) -> Self {
        match value {
            AccessTokenFormatArg::Opaque => Self::Opaque,
            AccessTokenFormatArg::Jwt => Self::Jwt,
        }
    }
}

/// The grant types of RFC 6749, spelled as in the `grant_type` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum GrantTypeArg {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
}

impl From<GrantTypeArg> for GrantType {
    fn from(value: GrantTypeArg) -> Self {
        match value {
            GrantTypeArg::AuthorizationCode => GrantType::AuthorizationCode,
            GrantTypeArg::Password => GrantType::Password,
            GrantTypeArg::RefreshToken => GrantType::RefreshToken,
            GrantTypeArg::ClientCredentials => GrantType::ClientCredentials,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Forget a user's consents (to one client, or all); the next authorization asks again.
    Revoke {
        #[arg(long)]
        username: String,
        /// Only the consent to this client.
        #[arg(long = "client", value_name = "ID")]
        client: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Initial access tokens (RFC 7591 §3): each lets its holder register clients at
    /// POST /oauth/register.
    #[command(subcommand)]
    Token(RegistrationTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Make an initial access token; prints it once (only its SHA-256 is stored).
    Create {
        /// Seconds until it expires (at most a year).
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        expires_in: i64,
        /// How many clients it may register.
        #[arg(long, value_name = "N", default_value_t = 1)]
        uses: i64,
    },
    /// Every initial access token as JSON (ids and state, never the tokens).
    List,
    /// Revoke an initial access token; the clients it registered stay.
    Revoke {
        /// The token's id (`it_…`, from `create` or `list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key with its state (signing, pending, published, retired, expired), as JSON.
    List,
    /// Create a key of `keys.algorithm`: published at once, signing after `keys.publish_ahead`.
    Rotate,
    /// Stop a key signing; it stays published until the tokens it signed have expired.
    Retire { kid: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from one line of standard input.
    Create(UserCreateArgs),
    /// Change a user's profile (the OpenID Connect claims name, email, email_verified).
    /// Ends no session and revokes nothing.
    Update(UserUpdateArgs),
    /// Show a user as JSON (never the password hash).
    Show(UserArgs),
    /// Set a user's password (read from standard input); revokes their grants first.
    Passwd(UserPasswordArgs),
    /// Disable a user; revokes their grants first.
    Disable(UserArgs),
    /// Enable a disabled user.
    Enable(UserArgs),
    /// Delete a user; revokes their grants first.
    Delete(UserArgs),
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[arg(long)]
    pub username: String,
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    #[command(flatten)]
    pub login: UserPasswordArgs,
    /// The full name (OpenID Connect `name`, released with the `profile` scope).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// The email address (released with the `email` scope).
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
    /// Vouch that the address belongs to the user (`email_verified`).
    #[arg(long, requires = "email")]
    pub email_verified: bool,
}

/// `user update`: each field is kept unless a flag sets or clears it.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "username"])))]
pub struct UserUpdateArgs {
    /// The username (or give --username).
    #[arg(value_name = "USERNAME")]
    pub user: Option<String>,
    #[arg(long)]
    pub username: Option<String>,
    /// Set the full name.
    #[arg(long, value_name = "N", conflicts_with = "no_name")]
    pub name: Option<String>,
    /// Remove the full name.
    #[arg(long)]
    pub no_name: bool,
    /// Set the email address (unverified unless --email-verified is given too).
    #[arg(long, value_name = "E", conflicts_with = "no_email")]
    pub email: Option<String>,
    /// Remove the email address (and its verification).
    #[arg(long)]
    pub no_email: bool,
    /// Mark the address verified.
    #[arg(long, conflicts_with = "no_email_verified")]
    pub email_verified: bool,
    /// Mark the address unverified.
    #[arg(long)]
    pub no_email_verified: bool,
}

impl UserUpdateArgs {
    /// The username, given either way.
    pub fn username(&self) -> &str {
        self.user
            .as_deref()
            .or(self.username.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct UserPasswordArgs {
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input. Required: a password on the command line
    /// would be visible in `ps` and shell history.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_opens_with_what_grantd_is() {
        let help = Cli::command().render_help().to_string();
        assert!(
            help.starts_with(
                "grantd: an OAuth 2.0 authorization server built around the refresh token flow\n"
            ),
            "{help}"
        );
        let long = Cli::command().render_long_help().to_string();
        assert!(!long.contains("wiring"), "{long}");
    }

    #[test]
    fn parses_client_create() {
        let cli = Cli::try_parse_from([
            "grantd",
            "client",
            "create",
            "--name",
            "t",
            "--grant-type",
            "password",
            "--grant-type",
            "refresh_token",
            "--scope",
            "read write",
        ])
        .unwrap();
        let Command::Client(ClientCommand::Create(args)) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(
            args.grant_types,
            vec![GrantTypeArg::Password, GrantTypeArg::RefreshToken]
        );
        assert_eq!(args.scope, "read write");
        assert!(!args.public);
        assert!(!args.require_dpop);
        let cli = Cli::try_parse_from([
            "grantd",
            "client",
            "create",
            "--name",
            "t",
            "--require-dpop",
        ])
        .unwrap();
        let Command::Client(ClientCommand::Create(args)) = cli.command else {
            panic!("wrong command");
        };
        assert!(args.require_dpop);
        assert!(
            crate::commands::new_client_from_args(&args)
                .unwrap()
                .settings
                .require_dpop
        );
    }

    #[test]
    fn config_is_global() {
        let cli = Cli::try_parse_from(["grantd", "serve", "--config", "x.toml", "--demo"]).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("x.toml")));
        assert!(matches!(
            cli.command,
            Command::Serve(ServeArgs { demo: true })
        ));
    }

    #[test]
    fn password_stdin_is_required() {
        let err = Cli::try_parse_from(["grantd", "user", "create", "--username", "a"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn user_update_takes_the_username_either_way_and_refuses_contradictions() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from([&["grantd", "user", "update"], args].concat()).map(|cli| {
                let Command::User(UserCommand::Update(args)) = cli.command else {
                    panic!("wrong command");
                };
                args
            })
        };
        let args = parse(&["alice", "--name", "A", "--no-email"]).unwrap();
        assert_eq!(args.username(), "alice");
        assert_eq!(args.name.as_deref(), Some("A"));
        assert!(args.no_email && !args.no_name);
        assert_eq!(parse(&["--username", "bob"]).unwrap().username(), "bob");
        for bad in [
            &[][..],
            &["alice", "--username", "bob"],
            &["alice", "--name", "A", "--no-name"],
            &["alice", "--email", "a@b.c", "--no-email"],
            &["alice", "--email-verified", "--no-email-verified"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn user_create_takes_profile_claims() {
        let cli = Cli::try_parse_from([
            "grantd",
            "user",
            "create",
            "--username",
            "bob",
            "--password-stdin",
            "--name",
            "Bob",
            "--email",
            "bob@example.com",
            "--email-verified",
        ])
        .unwrap();
        let Command::User(UserCommand::Create(args)) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.login.username, "bob");
        assert_eq!(args.email.as_deref(), Some("bob@example.com"));
        assert!(args.email_verified);
        let err = Cli::try_parse_from([
            "grantd",
            "user",
            "create",
            "--username",
            "bob",
            "--password-stdin",
            "--email-verified",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2, "--email-verified needs --email");
    }

    #[test]
    fn unknown_grant_type_is_a_usage_error() {
        let err = Cli::try_parse_from([
            "grantd",
            "client",
            "create",
            "--name",
            "t",
            "--grant-type",
            "implicit",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
