//! `grantd keys list | rotate | retire KID`: the JWT signing keys. `rotate` publishes a
//! new key at once and signs with it after `keys.publish_ahead`; `retire` stops a key
//! signing and keeps it published until the longest-lived access token it may have signed
//! has expired. The timing rules are the domain's (`grantd_domain::signing_keys`).

use std::io::Write;

use anyhow::Context as _;
use grantd_domain::signing_keys::key_state;
use grantd_domain::{admin, KeyRing, PortSet, TokenSettings};
use grantd_ports::SigningKey;
use serde::Serialize;

use super::print_json;
use crate::cli::KeysCommand;

/// One key as listed: never its private part.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: &'static str,
    /// signing, pending, published, retired (still published) or expired.
    pub state: &'static str,
    pub created_at: i64,
    pub activates_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_until: Option<i64>,
}

pub fn view(keys: &[SigningKey], key: &SigningKey, now: i64) -> KeyView {
    KeyView {
        kid: key.kid.clone(),
        alg: key.algorithm.as_str(),
        state: key_state(keys, key, now),
        created_at: key.created_at,
        activates_at: key.activates_at,
        retired_at: key.retired_at,
        published_until: key.published_until,
    }
}

pub fn run_keys(
    ring: &KeyRing,
    ports: &PortSet,
    settings: &TokenSettings,
    command: &KeysCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::List => {
            let keys = ring.list().context("cannot list the signing keys")?;
            let now = ring.now();
            let views: Vec<KeyView> = keys.iter().map(|k| view(&keys, k, now)).collect();
            print_json(out, &views)
        }
        KeysCommand::Rotate => {
            let key = ring.rotate().context("cannot create a signing key")?;
            let keys = ring.list().context("cannot list the signing keys")?;
            print_json(out, &view(&keys, &key, ring.now()))
        }
        KeysCommand::Retire { kid } => {
            let longest = admin::retire_key(ring, ports, settings, kid)?;
            writeln!(
                out,
                "retired {kid}: it signs nothing more and stays published for {longest} s"
            )?;
            Ok(())
        }
    }
}
