//! The administrative commands over the ports, one module per noun: `client …`, `user …`,
//! `consent …`, `keys …` and `registration …`. They write JSON or a short confirmation to `out`; errors go back to
//! `main`, which prints them and exits 1.
//!
//! The rules are the domain's: which registrations are valid
//! (`grantd_domain::registration`), and which lifecycle changes revoke grants, in which
//! order (`grantd_domain::accounts`). These modules only parse, look up, mint, store and
//! print.

mod client;
mod consent;
#[cfg(test)]
pub(crate) mod doubles;
mod keys;
mod registration;
mod user;

use std::io::Write;

use serde::Serialize;

pub use client::{
    create_client, new_client_from_args, run_client, ClientUpdate, ClientView, IssuedCredentials,
    NewClient,
};
pub use consent::run_consent;
pub use keys::{run_keys, KeyView};
pub use registration::{run_registration, InitialTokenView};
pub use user::{create_user, read_password, run_user};

/// Pretty JSON and a final newline, as every listing and every minted credential is shown.
fn print_json(out: &mut dyn Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
