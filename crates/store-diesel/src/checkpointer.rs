//! SQLite's WAL checkpoints, off the writer's path. By default the connection whose commit
//! takes the WAL past 1,000 pages copies them into the database file and syncs it, inside
//! that commit: every member of that group waited for it, and the copy of a page that
//! changed again a moment later was wasted. The writer's connections never checkpoint
//! (`wal_autocheckpoint = 0`, see the pool's pragmas); this thread does, on its own
//! connection, every `interval`. A `PASSIVE` checkpoint blocks no reader and no writer,
//! and with nothing new in the WAL it returns at once, without I/O.
//!
//! Durability is unchanged: a commit is durable once the WAL is synced, which the writer
//! still does at every commit (`synchronous = FULL`); the checkpoint only moves pages
//! from the WAL into the database file, syncing both.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

/// How often the WAL is checkpointed. Under full load a tenth of a second of writes is
/// a few thousand pages: a WAL of a few MiB, each page copied once however often it
/// changed in that time.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// The running checkpointer; dropping it stops the thread after its current checkpoint.
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Checkpoints the SQLite file at `path` every `interval`, on a thread of its own.
    pub(crate) fn spawn(path: &str, interval: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.to_owned();
        let spawned = thread::Builder::new()
            .name("grantd-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    checkpoint(&path, &mut conn);
                }
            });
        if let Err(error) = spawned {
            // The last connection to close still checkpoints; until then the WAL grows.
            tracing::error!(%error, "cannot start the SQLite checkpoint thread");
        }
        Self { _stop: stop }
    }
}

/// One `PASSIVE` checkpoint, opening the connection first if needed. A failure is logged
/// and retried at the next interval, on a fresh connection.
fn checkpoint(path: &str, conn: &mut Option<SqliteConnection>) {
    if conn.is_none() {
        match SqliteConnection::establish(path) {
            Ok(opened) => *conn = Some(opened),
            Err(error) => {
                tracing::warn!(%error, "the SQLite checkpointer cannot open the database");
                return;
            }
        }
    }
    let Some(open) = conn.as_mut() else { return };
    if let Err(error) = open.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
        tracing::warn!(%error, "SQLite checkpoint failed");
        *conn = None;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::group_commit::GroupCommit;
    use crate::pool::sqlite_file_pool;
    use crate::DbOptions;

    fn wal_bytes(db: &Path) -> u64 {
        std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len())
    }

    /// Writes `commits` rows of a page each, one commit at a time, and returns the WAL
    /// file's size after.
    fn write_pages(db: &Path, commits: usize, pause: Duration) -> u64 {
        let options = DbOptions::default();
        let writer = GroupCommit::new(
            sqlite_file_pool(db.to_str().unwrap(), &options, 1),
            options.connect_timeout,
        );
        writer
            .run(|conn| conn.batch_execute("CREATE TABLE IF NOT EXISTS pages (body BLOB)"))
            .unwrap()
            .unwrap();
        for _ in 0..commits {
            writer
                .run(|conn| conn.batch_execute("INSERT INTO pages VALUES (zeroblob(4000))"))
                .unwrap()
                .unwrap();
            thread::sleep(pause);
        }
        wal_bytes(db)
    }

    /// The writer never checkpoints, so without this thread the WAL holds every commit;
    /// with it, the WAL is copied into the database and then reused from its start.
    #[test]
    fn the_wal_is_checkpointed_and_reused_while_the_writer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (commits, pause) = (300, Duration::from_millis(2));

        let unchecked = dir.path().join("unchecked.db");
        let grown = write_pages(&unchecked, commits, pause);
        assert!(
            grown > (commits as u64) * 4000,
            "the WAL held every commit: {grown}"
        );

        let checked = dir.path().join("checked.db");
        let _checkpointer =
            Checkpointer::spawn(checked.to_str().unwrap(), Duration::from_millis(10));
        let reused = write_pages(&checked, commits, pause);
        assert!(
            reused * 4 < grown,
            "a checkpointed WAL ({reused} bytes) is reused, not grown ({grown} bytes)"
        );
    }
}
