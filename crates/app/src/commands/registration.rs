//! `grantd registration token create | list | revoke ID`: the initial access tokens of
//! dynamic client registration (RFC 7591 §3). The use case is the domain's
//! (`InitialAccessTokens`), which the admin API shares; this module parses and prints.

use std::io::Write;

use anyhow::{bail, Context as _};
use grantd_domain::dynamic_registration::{InitialAccessTokens, InitialTokenError};
use grantd_ports::InitialAccessToken;
use serde::Serialize;

use super::print_json;
use crate::cli::{RegistrationCommand, RegistrationTokenCommand};

/// An initial access token as listed: never the token, which exists only at `create`.
#[derive(Debug, Serialize)]
pub struct InitialTokenView {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub uses_left: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl From<&InitialAccessToken> for InitialTokenView {
    fn from(t: &InitialAccessToken) -> Self {
        Self {
            id: t.id.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            uses_left: t.uses_left,
            revoked_at: t.revoked_at,
        }
    }
}

/// What `create` prints: the only time the token is shown.
#[derive(Debug, Serialize)]
struct Created<'a> {
    initial_access_token: &'a str,
    #[serde(flatten)]
    view: InitialTokenView,
}

pub fn run_registration(
    tokens: &InitialAccessTokens,
    command: &RegistrationCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let RegistrationCommand::Token(command) = command;
    match command {
        RegistrationTokenCommand::Create { expires_in, uses } => {
            let issued = tokens.create(*expires_in, *uses).map_err(|e| match e {
                InitialTokenError::BadExpiry => anyhow::anyhow!("--{e}"),
                InitialTokenError::BadUses => anyhow::anyhow!("--{e}"),
                InitialTokenError::Store(e) => {
                    anyhow::Error::new(e).context("cannot store the initial access token")
                }
            })?;
            print_json(
                out,
                &Created {
                    initial_access_token: issued.token.expose(),
                    view: InitialTokenView::from(&issued.record),
                },
            )
        }
        RegistrationTokenCommand::List => {
            let listed = tokens
                .list()
                .context("cannot list the initial access tokens")?;
            let views: Vec<InitialTokenView> = listed.iter().map(InitialTokenView::from).collect();
            print_json(out, &views)
        }
        RegistrationTokenCommand::Revoke { id } => {
            if !tokens
                .revoke(id)
                .context("cannot revoke the initial access token")?
            {
                bail!("no initial access token {id} that is not revoked already");
            }
            writeln!(out, "revoked initial access token {id}")?;
            Ok(())
        }
    }
}
