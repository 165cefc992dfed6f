//! `cargo xtask`: the one home of grantd's developer workflows. If `cargo xtask ci` passes
//! locally, CI is green (CI runs `.ci/run`, which ends in exactly this command).
//!
//! std only, so that the task runner builds in seconds and never breaks with a dependency.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod tidy;

const HELP: &str = "\
cargo xtask <command>

Commands:
  ci                  cargo fmt --check, tidy, clippy -D warnings, then the whole test
                      suite (stops at the first failure)
  tidy                check the structure rules and list every offender: each crate's
                      dependencies on our crates against the \"Crate dependencies\" table
                      of docs/ARCHITECTURE.md (and every crate in it), a `//!` line
                      opening every .rs file under crates/ and xtask/, the same migration
                      folders, each with up.sql and down.sql, in migrations/postgres and
                      migrations/sqlite
  demo                build in release mode and run `grantd serve --demo`
  bench [ARGS]        build grantd and the load generator in release mode and run the load
                      benchmark (Postgres on 127.0.0.1:5432 and SQLite; a few minutes);
                      writes target/bench/report.json and target/bench/chart.svg. ARGS:
                      --duration SECS (5), --concurrency 1,8,32,64, --backends postgres,sqlite
  fuzz [--seconds N]  run each cargo-fuzz target in fuzz/ for N seconds (default 60);
                      installs cargo-fuzz if missing, uses RUSTC_BOOTSTRAP=1 on stable
  db create NAME      create a Postgres database NAME on 127.0.0.1:5432 (psql)
  db drop NAME        drop the Postgres database NAME on 127.0.0.1:5432 (psql)
  help                print this help

Environment: PGUSER (default postgres), PGHOST/PGPORT (default 127.0.0.1:5432) for `db`.
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["help" | "-h" | "--help"] => {
            print!("{HELP}");
            Ok(())
        }
        ["ci"] => ci(),
        ["tidy"] => tidy::run(&root()),
        ["demo"] => demo(),
        ["fuzz"] => fuzz(60),
        ["fuzz", "--seconds", n] => n
            .parse()
            .map_err(|_| format!("--seconds wants a number, got {n:?}"))
            .and_then(fuzz),
        ["bench", rest @ ..] => bench(rest),
        ["db", "create", name] => db("CREATE", name),
        ["db", "drop", name] => db("DROP", name),
        _ => Err(format!("unknown command: {}\n\n{HELP}", args.join(" "))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The cargo that runs us (so a toolchain override applies to every step).
fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a command to completion, failing with its name if it does not succeed.
fn run(mut command: Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: running {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// fmt first (the cheapest), then tidy (in process, no build), then clippy and the tests.
fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt)?;
    eprintln!("xtask: running tidy");
    tidy::run(&root())?;
    let steps: [&[&str]; 2] = [
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &["test", "--workspace"],
    ];
    for step in steps {
        let mut command = cargo();
        command.args(step);
        run(command)?;
    }
    eprintln!("xtask: ci passed");
    Ok(())
}

fn demo() -> Result<(), String> {
    let mut command = cargo();
    command.args([
        "run",
        "--release",
        "-p",
        "grantd-app",
        "--",
        "serve",
        "--demo",
    ]);
    run(command)
}

/// The load benchmark: release builds of grantd and of `grantd-bench` (which starts
/// grantd, provisions it with its CLI and drives it from a separate load-generator
/// process). Never part of `ci`.
fn bench(args: &[&str]) -> Result<(), String> {
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "grantd-app",
        "-p",
        "grantd-bench",
    ]);
    run(build)?;
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let mut command = Command::new(target.join("release").join("grantd-bench"));
    command
        .current_dir(root())
        .arg("--grantd")
        .arg(target.join("release").join("grantd"))
        .arg("--out")
        .arg(target.join("bench"))
        .args(args);
    run(command)
}

/// The cargo-fuzz targets of `fuzz/` (one per hostile-input parser).
const FUZZ_TARGETS: &[&str] = &[
    "form_parse",
    "authorization_header",
    "scope_parse",
    "token_format",
    "dpop_proof",
    "jwk_parse",
];

/// Runs every fuzz target for `seconds`, stopping at the first crash (its input is left
/// in `fuzz/artifacts/<target>/`). cargo-fuzz needs nightly flags (`-Z sanitizer`);
/// RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
fn fuzz(seconds: u64) -> Result<(), String> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        let mut install = cargo();
        install.args(["install", "cargo-fuzz", "--locked"]);
        run(install)?;
    }
    for target in FUZZ_TARGETS {
        let mut command = cargo();
        command
            .current_dir(root().join("fuzz"))
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"));
        run(command)?;
    }
    eprintln!("xtask: fuzzing found nothing in {seconds} s per target");
    Ok(())
}

/// `CREATE`/`DROP DATABASE` through psql. The name is checked because it is spliced into
/// SQL (identifiers cannot be bound as parameters).
fn db(verb: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!(
            "database name {name:?} must be 1 to 63 of [a-z0-9_], not starting with a digit"
        ));
    }
    let sql = match verb {
        "CREATE" => format!("CREATE DATABASE {name}"),
        _ => format!("DROP DATABASE IF EXISTS {name}"),
    };
    let host = env::var("PGHOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let user = env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
    let mut command = Command::new("psql");
    command.args([
        "-h",
        &host,
        "-p",
        &port,
        "-U",
        &user,
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        &sql,
    ]);
    run(command)?;
    if verb == "CREATE" {
        println!("GRANTD_DATABASE__URL=postgres://{user}@{host}:{port}/{name}");
    }
    Ok(())
}
