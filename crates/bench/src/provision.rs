//! Provisioning through grantd's own CLI: migrate the scratch database, then create the
//! clients and users the scenarios log in with. Also the grantd command with the bench's
//! environment, which the server module starts too.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cli::Options;
use crate::db::Database;
use crate::load::Credentials;

/// The grantd binary pointed at `db`, quiet but for warnings.
pub fn grantd(o: &Options, db: &Database) -> Command {
    let mut c = Command::new(&o.grantd);
    c.env("GRANTD_DATABASE__URL", &db.url)
        .env("GRANTD_SERVER__BLOCKING_WORK", &o.blocking_work)
        .env("GRANTD_LOG__LEVEL", "warn")
        .env("RUST_LOG", "warn");
    c
}

fn cli(o: &Options, db: &Database, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    cli_with(grantd(o, db), args, stdin)
}

fn cli_with(mut c: Command, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = c
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("grantd {args:?}: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "grantd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn client(o: &Options, db: &Database, args: &[&str]) -> Result<(String, String), String> {
    let out = cli(o, db, &[&["client", "create"], args].concat(), None)?;
    let v: Value = serde_json::from_str(out.trim()).map_err(|e| format!("client create: {e}"))?;
    Ok((
        v["client_id"].as_str().unwrap_or_default().to_owned(),
        v["client_secret"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Clients at the production bcrypt cost; a user at the production password cost for the
/// password scenario, and a seed user at cost 4 whose only job is to start token chains
/// (the password grant is the one way to get a first refresh token).
pub fn provision(o: &Options, db: &Database) -> Result<Credentials, String> {
    cli(o, db, &["migrate"], None)?;
    let rt = ["--grant-type", "password", "--grant-type", "refresh_token"];
    let scope = ["--scope", "read write"];
    let (confidential_id, confidential_secret) = client(
        o,
        db,
        &[&["--name", "bench confidential"], &rt[..], &scope[..]].concat(),
    )?;
    let (public_id, _) = client(
        o,
        db,
        &[&["--name", "bench public", "--public"], &rt[..], &scope[..]].concat(),
    )?;
    let (introspector_id, introspector_secret) = client(
        o,
        db,
        &[
            "--name",
            "bench resource server",
            "--grant-type",
            "client_credentials",
            "--introspect",
        ],
    )?;
    cli(
        o,
        db,
        &["user", "create", "--username", "bench", "--password-stdin"],
        Some("bench-password\n"),
    )?;
    let mut seed = grantd(o, db);
    seed.env("GRANTD_SECURITY__PASSWORD_BCRYPT_COST", "4");
    cli_with(
        seed,
        &["user", "create", "--username", "seed", "--password-stdin"],
        Some("seed-password\n"),
    )?;
    Ok(Credentials {
        confidential_id,
        confidential_secret,
        public_id,
        introspector_id,
        introspector_secret,
        username: "bench".into(),
        password: "bench-password".into(),
        seed_username: "seed".into(),
        seed_password: "seed-password".into(),
    })
}
