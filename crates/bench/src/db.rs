//! The scratch database of one backend: a fresh Postgres database on 127.0.0.1:5432 or a
//! fresh SQLite file, created before a backend's run and dropped after it; and `psql`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Database {
    /// What grantd is given as `GRANTD_DATABASE__URL`.
    pub url: String,
    pg_name: Option<String>,
    file: Option<PathBuf>,
}

impl Database {
    pub fn create(backend: &str, out: &Path) -> Result<Self, String> {
        match backend {
            "postgres" => {
                let name = format!("grantd_bench_{}", std::process::id());
                psql(&format!("DROP DATABASE IF EXISTS {name}"), "postgres")?;
                psql(&format!("CREATE DATABASE {name}"), "postgres")?;
                Ok(Self {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                    file: None,
                })
            }
            "sqlite" => {
                let dir = std::path::absolute(out).map_err(|e| e.to_string())?;
                let file = dir.join(format!("bench-{}.db", std::process::id()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                Ok(Self {
                    url: format!("sqlite://{}", file.display()),
                    pg_name: None,
                    file: Some(file),
                })
            }
            other => Err(format!("unknown backend {other}")),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg_name.is_some()
    }

    /// The Postgres database's name (for psql and pgbench); `postgres` on SQLite.
    pub fn pg_name(&self) -> &str {
        self.pg_name.as_deref().unwrap_or("postgres")
    }

    pub fn drop_it(&self) {
        if let Some(name) = &self.pg_name {
            let _ = psql(
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                "postgres",
            );
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

/// Runs `sql` in database `db` on 127.0.0.1:5432, stopping at the first error; returns
/// the unaligned output.
pub fn psql(sql: &str, db: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", db])
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
