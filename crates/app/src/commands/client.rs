//! The administrative commands (`client …`, `user …`) over the ports. They write JSON or a
//! short confirmation to `out`; errors go back to `main`, which prints them and exits 1.
//!
//! A client secret is shown exactly once, when it is minted; afterwards only its bcrypt
//! hash exists. The lifecycle rules (which changes revoke grants, and in which order) are the
//! domain's (`grantd_domain::accounts`); this module only parses, looks up and prints.

use std::io::{BufRead, Write};

use anyhow::{bail, Context as _};
use grantd_domain::{accounts, Ports};
use grantd_ports::{
    Client, ClientId, GrantType, LifetimeOverrides, ScopeSet, StoreError, TokenKind, User, UserId,
    Username,
};
use serde::Serialize;

use crate::cli::{ClientCommand, ClientCreateArgs, UserCommand};

/// The grant types a client gets when `--grant-type` is not given: the code flow and its
/// refresh tokens, the flow RFC 9700 recommends.
pub const DEFAULT_GRANT_TYPES: [GrantType; 2] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken];

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
    pub redirect_uris: Vec<String>,
    pub introspect: bool,
    pub secret_version: i64,
    /// Per-client lifetimes in seconds; null = the global setting.
    pub access_token_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub refresh_token_max_lifetime: Option<i64>,
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
            redirect_uris: c.redirect_uris.clone(),
            introspect: c.can_introspect,
            secret_version: c.secret_version,
            access_token_lifetime: c.lifetimes.access_token,
            refresh_token_lifetime: c.lifetimes.refresh_token,
            refresh_token_max_lifetime: c.lifetimes.refresh_token_max,
            created_at: c.created_at,
        }
    }
}

/// A new client's registration, as the CLI (or `--demo`) asks for it.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// `None` = mint one (`cl_` + a random id).
    pub id: Option<ClientId>,
    pub name: String,
    /// `None` = public client; `Some(None)` = mint a secret; `Some(Some(s))` = use `s`
    /// (only `--demo` does, with its well-known secret).
    pub secret: Option<Option<String>>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub redirect_uris: Vec<String>,
    pub can_introspect: bool,
    /// Per-client token lifetimes; `None` fields use the global `[tokens]` settings.
    pub lifetimes: LifetimeOverrides,
}

pub fn run_client(
    ports: &Ports,
    command: &ClientCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let new = new_client_from_args(args)?;
            let issued = create_client(ports, new)?;
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
            let client = find_client(ports, id)?;
            let changed =
                accounts::delete_client(ports, &client).context("cannot delete the client")?;
            if !changed.found {
                bail!("no client with id {id}");
            }
            let revoked = changed.revoked_grants;
            writeln!(out, "deleted client {id} (revoked {revoked} grant(s))")?;
            Ok(())
        }
        ClientCommand::RotateSecret { id } => {
            let client = find_client(ports, id)?;
            if client.is_public() {
                bail!("client {id} is public and has no secret");
            }
            let Some(secret) = accounts::rotate_client_secret(ports, &client)
                .context("cannot store the new secret")?
            else {
                bail!("no client with id {id}");
            };
            print_json(
                out,
                &IssuedCredentials {
                    client_id: client.id.to_string(),
                    client_secret: Some(secret.expose().to_owned()),
                },
            )
        }
    }
}

pub fn run_user(
    ports: &Ports,
    command: &UserCommand,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => {
            let username = parse_username(&args.username)?;
            // Checked before reading and hashing so that a taken name fails fast; the
            // insert's Conflict still covers a concurrent creation.
            if ports
                .users
                .find_user_by_username(&username)
                .context("cannot look up the user")?
                .is_some()
            {
                bail!("username {username} is taken");
            }
            let password = read_password(stdin)?;
            let user = create_user(ports, &username, &password)?;
            writeln!(out, "created user {} (id {})", user.username, user.id)?;
            Ok(())
        }
        UserCommand::Passwd(args) => {
            let user = find_user(ports, &args.username)?;
            let password = read_password(stdin)?;
            let changed = accounts::change_password(ports, &user, &password)
                .context("cannot change the password")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "changed the password of {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
        UserCommand::Disable(args) => {
            let user = find_user(ports, &args.username)?;
            let changed =
                accounts::disable_user(ports, &user).context("cannot disable the user")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "disabled user {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
        UserCommand::Enable(args) => {
            let user = find_user(ports, &args.username)?;
            let changed = accounts::enable_user(ports, &user).context("cannot enable the user")?;
            found_or_bail(changed, &user)?;
            writeln!(out, "enabled user {}", user.username)?;
            Ok(())
        }
        UserCommand::Delete(args) => {
            let user = find_user(ports, &args.username)?;
            let changed = accounts::delete_user(ports, &user).context("cannot delete the user")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "deleted user {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
    }
}

/// Validates `client create`'s arguments into a registration.
pub fn new_client_from_args(args: &ClientCreateArgs) -> anyhow::Result<NewClient> {
    let mut grant_types: Vec<GrantType> = Vec::new();
    for g in &args.grant_types {
        let g = GrantType::from(*g);
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    if grant_types.is_empty() {
        grant_types = DEFAULT_GRANT_TYPES.to_vec();
    }
    let scopes =
        ScopeSet::parse(&args.scope).map_err(|e| anyhow::anyhow!("invalid --scope: {e}"))?;
    Ok(NewClient {
        id: None,
        name: args.name.clone(),
        secret: if args.public { None } else { Some(None) },
        grant_types,
        scopes,
        redirect_uris: args.redirect_uris.clone(),
        can_introspect: args.introspect,
        lifetimes: LifetimeOverrides {
            access_token: args.access_token_lifetime,
            refresh_token: args.refresh_token_lifetime,
            refresh_token_max: args.refresh_token_max_lifetime,
        },
    })
}

/// Registers a client and returns its credentials; the plain secret exists only in the
/// returned value.
pub fn create_client(ports: &Ports, new: NewClient) -> anyhow::Result<IssuedCredentials> {
    let name = new.name.trim();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    // RFC 6749 §4.4: the client credentials grant "MUST only be used by confidential clients".
    if new.secret.is_none() && new.grant_types.contains(&GrantType::ClientCredentials) {
        bail!("a public client cannot use the client_credentials grant");
    }
    for uri in &new.redirect_uris {
        check_redirect_uri(uri)?;
    }
    let id = match new.id {
        Some(id) => id,
        None => ClientId::parse(&format!("cl_{}", ports.minter.mint_id()))
            .map_err(|e| anyhow::anyhow!("minted an invalid client id: {e}"))?,
    };
    let plain_secret = match new.secret {
        None => None,
        Some(Some(given)) => Some(given),
        Some(None) => Some(
            ports
                .minter
                .mint(TokenKind::ClientSecret)
                .expose()
                .to_owned(),
        ),
    };
    let client = Client {
        id: id.clone(),
        name: name.to_owned(),
        secret: plain_secret
            .as_deref()
            .map(|s| ports.hasher.hash_client_secret(s)),
        secret_version: 1,
        grant_types: new.grant_types,
        scopes: new.scopes,
        redirect_uris: new.redirect_uris,
        can_introspect: new.can_introspect,
        lifetimes: new.lifetimes,
        created_at: ports.clock.now(),
    };
    match ports.clients.insert_client(&client) {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => bail!("a client with id {id} already exists"),
        Err(e) => return Err(e).context("cannot store the client"),
    }
    if client.allows(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        tracing::warn!(client_id = %id, "client allows authorization_code but has no redirect URI");
    }
    Ok(IssuedCredentials {
        client_id: id.to_string(),
        client_secret: plain_secret,
    })
}

/// Creates a user with a fresh id and the password hashed at the password cost.
pub fn create_user(ports: &Ports, username: &Username, password: &str) -> anyhow::Result<User> {
    let id = UserId::parse(&ports.minter.mint_id())
        .map_err(|e| anyhow::anyhow!("minted an invalid user id: {e}"))?;
    let user = User {
        id,
        username: username.clone(),
        password: ports.hasher.hash_password(password),
        disabled: false,
        created_at: ports.clock.now(),
    };
    match ports.users.insert_user(&user) {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => bail!("username {username} is taken"),
        Err(e) => Err(e).context("cannot store the user"),
    }
}

/// Reads one line; only the line ending is removed (a password may end in spaces).
pub fn read_password(stdin: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.is_empty() {
        bail!("refusing an empty password (give it on standard input)");
    }
    Ok(password.to_owned())
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        bail!("redirect URI {uri:?} must be an absolute URI (RFC 6749 §3.1.2)");
    }
    if uri.contains('#') {
        bail!("redirect URI {uri:?} must not have a fragment (RFC 6749 §3.1.2)");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("redirect URI {uri:?} has whitespace or control characters");
    }
    Ok(())
}

fn find_client(ports: &Ports, id: &str) -> anyhow::Result<Client> {
    let not_found = || anyhow::anyhow!("no client with id {id}");
    // An id that is not even well-formed cannot exist.
    let parsed = ClientId::parse(id).map_err(|_| not_found())?;
    ports
        .clients
        .find_client(&parsed)
        .context("cannot look up the client")?
        .ok_or_else(not_found)
}

fn parse_username(username: &str) -> anyhow::Result<Username> {
    Username::parse(username).map_err(|e| anyhow::anyhow!("invalid username: {e}"))
}

fn find_user(ports: &Ports, username: &str) -> anyhow::Result<User> {
    let parsed = parse_username(username)?;
    ports
        .users
        .find_user_by_username(&parsed)
        .context("cannot look up the user")?
        .ok_or_else(|| anyhow::anyhow!("no user named {username}"))
}

/// The number of revoked grants, or an error if the user vanished meanwhile.
fn found_or_bail(changed: accounts::Changed, user: &User) -> anyhow::Result<u64> {
    if !changed.found {
        bail!("no user named {}", user.username);
    }
    Ok(changed.revoked_grants)
}

fn print_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use grantd_ports::{
        MockClientStore, MockClock, MockSecretHasher, MockTokenMinter, MockTokenStore,
        MockUserStore, SecretHash,
    };
    use mockall::predicate::always;
    use mockall::Sequence;

    use super::*;
    use crate::cli::UserArgs;

    struct Doubles {
        clients: MockClientStore,
        users: MockUserStore,
        tokens: MockTokenStore,
        hasher: MockSecretHasher,
        minter: MockTokenMinter,
    }

    impl Doubles {
        fn new() -> Self {
            Self {
                clients: MockClientStore::new(),
                users: MockUserStore::new(),
                tokens: MockTokenStore::new(),
                hasher: MockSecretHasher::new(),
                minter: MockTokenMinter::new(),
            }
        }

        fn ports(self) -> Ports {
            let mut clock = MockClock::new();
            clock.expect_now().return_const(1_000_i64);
            Ports {
                clients: Arc::new(self.clients),
                users: Arc::new(self.users),
                tokens: Arc::new(self.tokens),
                authorizations: Arc::new(grantd_ports::MockAuthorizationStore::new()),
                hasher: Arc::new(self.hasher),
                minter: Arc::new(self.minter),
                clock: Arc::new(clock),
                metrics: Arc::new(grantd_ports::NoMetrics),
            }
        }
    }

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: SecretHash::from_stored("$2b$hash".into()),
            disabled: false,
            created_at: 0,
        }
    }

    fn user_args() -> UserArgs {
        UserArgs {
            username: "alice".into(),
        }
    }

    #[test]
    fn deleting_a_user_revokes_grants_before_deleting() {
        let mut d = Doubles::new();
        let mut seq = Sequence::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.tokens
            .expect_revoke_grants_of_user()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(2));
        d.users
            .expect_delete_user()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(true));
        let mut out = Vec::new();
        run_user(
            &d.ports(),
            &UserCommand::Delete(user_args()),
            &mut &b""[..],
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("revoked 2 grant(s)"));
    }

    #[test]
    fn disabling_a_user_revokes_grants_first() {
        let mut d = Doubles::new();
        let mut seq = Sequence::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.tokens
            .expect_revoke_grants_of_user()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(0));
        d.users
            .expect_set_user_disabled()
            .with(always(), mockall::predicate::eq(true))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(true));
        run_user(
            &d.ports(),
            &UserCommand::Disable(user_args()),
            &mut &b""[..],
            &mut Vec::new(),
        )
        .unwrap();
    }

    #[test]
    fn a_taken_username_is_a_clear_error() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.users.expect_insert_user().never();
        let err = run_user(
            &d.ports(),
            &UserCommand::Create(crate::cli::UserPasswordArgs {
                username: "alice".into(),
                password_stdin: true,
            }),
            &mut &b"pw\n"[..],
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "username alice is taken");
    }

    #[test]
    fn deleting_an_unknown_client_is_a_clear_error() {
        let mut d = Doubles::new();
        d.clients.expect_find_client().returning(|_| Ok(None));
        d.tokens.expect_revoke_grants_of_client().never();
        d.clients.expect_delete_client().never();
        let err = run_client(
            &d.ports(),
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
                    && c.grant_types == DEFAULT_GRANT_TYPES
            })
            .times(1)
            .returning(|_| Ok(()));
        let args = ClientCreateArgs {
            name: "t".into(),
            public: false,
            grant_types: vec![],
            scope: "read".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            introspect: false,
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            refresh_token_max_lifetime: None,
        };
        let mut out = Vec::new();
        run_client(&d.ports(), &ClientCommand::Create(args), &mut out).unwrap();
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
            redirect_uris: vec![],
            introspect: false,
            access_token_lifetime: Some(300),
            refresh_token_lifetime: None,
            refresh_token_max_lifetime: Some(0),
        };
        let new = new_client_from_args(&args).unwrap();
        assert_eq!(
            new.lifetimes,
            LifetimeOverrides {
                access_token: Some(300),
                refresh_token: None,
                refresh_token_max: Some(0)
            },
            "per-client lifetimes come from the flags"
        );
        let issued = create_client(&ports, new_client_from_args(&args).unwrap()).unwrap();
        assert_eq!(issued.client_secret, None);
        assert_eq!(
            serde_json::to_string(&issued).unwrap(),
            r#"{"client_id":"cl_pub","client_secret":null}"#
        );

        args.grant_types = vec![crate::cli::GrantTypeArg::ClientCredentials];
        let err = create_client(&ports, new_client_from_args(&args).unwrap()).unwrap_err();
        assert!(err.to_string().contains("client_credentials"));
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
            redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
        };
        let json = serde_json::to_string(&ClientView::from(&client)).unwrap();
        assert!(!json.contains("secrethash"), "{json}");
        assert!(json.contains(r#""grant_types":["password"]"#), "{json}");
    }

    #[test]
    fn passwords_keep_everything_but_the_line_ending() {
        assert_eq!(read_password(&mut &b"pw \r\n"[..]).unwrap(), "pw ");
        assert_eq!(read_password(&mut &b"pw"[..]).unwrap(), "pw");
        assert!(read_password(&mut &b"\n"[..]).is_err());
        assert!(read_password(&mut &b""[..]).is_err());
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb").is_ok());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
    }
}
