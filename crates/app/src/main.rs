//! `grantd`: parse the command line, load the configuration, dispatch. Exit codes: 0 ok,
//! 1 runtime error (message on stderr), 2 usage error (clap).

use std::process::ExitCode;

use clap::Parser as _;
use grantd_app::cli::Cli;
use grantd_app::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Config::load(cli.config.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|config| grantd_app::run(&cli.command, &config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` shows the whole context chain on one line.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
