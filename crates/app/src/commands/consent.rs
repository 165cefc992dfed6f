//! `grantd consent revoke --username U [--client ID]`: forget what a user allowed, so the
//! next authorization asks again. Tokens already issued are not touched (revoke those with
//! the revocation endpoint, or `user passwd`/`disable`). The use case is
//! `grantd_domain::admin::revoke_consents`, which the admin API calls too.

use std::io::Write;

use grantd_domain::{admin, PortSet};
use grantd_ports::{ClientId, Username};

use crate::cli::ConsentCommand;

pub fn run_consent(
    ports: &PortSet,
    command: &ConsentCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        ConsentCommand::Revoke { username, client } => {
            Username::parse(username).map_err(anyhow::Error::msg)?;
            if let Some(client) = client {
                ClientId::parse(client).map_err(anyhow::Error::msg)?;
            }
            let removed = admin::revoke_consents(ports, username, client.as_deref())?;
            writeln!(out, "revoked {removed} consent(s) of {username}")?;
            Ok(())
        }
    }
}
