//! `grantd consent revoke --username U [--client ID]`: forget what a user allowed, so the
//! next authorization asks again. Tokens already issued are not touched (revoke those with
//! the revocation endpoint, or `user passwd`/`disable`).

use std::io::Write;

use anyhow::{bail, Context as _};
use grantd_domain::PortSet;
use grantd_ports::{ClientId, Username};

use crate::cli::ConsentCommand;

pub fn run_consent(
    ports: &PortSet,
    command: &ConsentCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Revoke { username, client } => {
            let name = Username::parse(username).map_err(anyhow::Error::msg)?;
            let Some(user) = ports
                .users
                .find_user_by_username(&name)
                .context("cannot look up the user")?
            else {
                bail!("no user named {username}");
            };
            let client = client
                .as_deref()
                .map(ClientId::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let removed = ports
                .authorizations
                .revoke_consents(&user.id, client.as_ref())
                .context("cannot revoke the consents")?;
            writeln!(out, "revoked {removed} consent(s) of {username}")?;
            Ok(())
        }
    }
}
