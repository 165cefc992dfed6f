//! The group commit on a real SQLite file: groups form, each body is all or nothing, a
//! member is answered only with its commit's outcome, and a failure mid-group frees the
//! writer for the next.

use std::sync::mpsc;
use std::thread;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::*;
use crate::pool::sqlite_file_pool;
use crate::DbOptions;

struct File {
    _dir: tempfile::TempDir,
    path: String,
}

fn file() -> File {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("group.db").to_str().unwrap().to_owned();
    let file = File { _dir: dir, path };
    let mut conn = reader(&file);
    conn.inner
        .batch_execute(
            "CREATE TABLE notes (body TEXT NOT NULL);
             CREATE TABLE parents (id TEXT PRIMARY KEY);
             CREATE TABLE children (parent TEXT NOT NULL
                 REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
    file
}

fn writer(file: &File, turn_timeout: Duration) -> GroupCommit {
    let pool = sqlite_file_pool(&file.path, &DbOptions::default(), 1);
    GroupCommit::new(pool, turn_timeout)
}

/// A connection of its own, as the readers have: it sees only what was committed.
fn reader(file: &File) -> Pooled {
    sqlite_file_pool(&file.path, &DbOptions::default(), 1)
        .get()
        .unwrap()
}

#[derive(QueryableByName)]
struct Body {
    #[diesel(sql_type = Text)]
    body: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn committed_notes(file: &File) -> Vec<String> {
    let mut notes: Vec<String> = diesel::sql_query("SELECT body FROM notes")
        .load::<Body>(&mut reader(file).inner)
        .unwrap()
        .into_iter()
        .map(|row| row.body)
        .collect();
    notes.sort();
    notes
}

fn note(conn: &mut SqliteConnection, body: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query(format!("INSERT INTO notes (body) VALUES ('{body}')"))
        .execute(conn)
        .map(drop)
}

/// Spins until `n` threads wait for the turn: the holder's body then ends with a queue
/// behind it, so the next members join its group.
fn until_queued(writer: &GroupCommit, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while writer.lock().queued < n {
        assert!(Instant::now() < deadline, "{n} writers never queued");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Spins until a thread holds the turn.
fn until_running(writer: &GroupCommit) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !writer.lock().running {
        assert!(Instant::now() < deadline, "no writer took the turn");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn writes_that_queue_together_share_a_commit_and_each_is_durable_when_answered() {
    let file = file();
    let writer = writer(&file, Duration::from_secs(10));
    let (threads, writes) = (8, 25);
    thread::scope(|scope| {
        for t in 0..threads {
            let (writer, file) = (&writer, &file);
            scope.spawn(move || {
                for w in 0..writes {
                    let body = format!("{t}-{w}");
                    writer
                        .run(|conn| {
                            // Long enough for the others to queue behind this body.
                            thread::sleep(Duration::from_millis(1));
                            note(conn, &body)
                        })
                        .unwrap()
                        .unwrap();
                    // Answered means committed: another connection sees it already.
                    let seen: Count = diesel::sql_query(format!(
                        "SELECT count(*) AS n FROM notes WHERE body = '{body}'"
                    ))
                    .get_result(&mut reader(file).inner)
                    .unwrap();
                    assert_eq!(seen.n, 1, "{body} was answered before its commit");
                }
            });
        }
    });
    assert_eq!(committed_notes(&file).len(), threads * writes);
    let stats = writer.stats();
    assert_eq!(stats.members, (threads * writes) as u64);
    assert!(
        stats.commits * 2 <= stats.members,
        "writes that queued did not share commits: {stats:?}"
    );
}

#[test]
fn a_failing_body_is_rolled_back_alone_and_its_group_commits() {
    let file = file();
    let writer = writer(&file, Duration::from_secs(10));
    let results = thread::scope(|scope| {
        let first = scope.spawn(|| {
            writer.run(|conn| {
                note(conn, "a")?;
                until_queued(&writer, 2);
                Ok::<_, diesel::result::Error>(())
            })
        });
        let failing = scope.spawn(|| {
            until_running(&writer);
            writer.run(|conn| {
                note(conn, "b")?;
                Err::<(), _>(diesel::result::Error::RollbackTransaction)
            })
        });
        let last = scope.spawn(|| {
            until_running(&writer);
            writer.run(|conn| note(conn, "c"))
        });
        [first.join(), failing.join(), last.join()].map(|r| r.unwrap())
    });
    assert!(matches!(results[0], Ok(Ok(()))), "{:?}", results[0]);
    assert!(matches!(results[1], Ok(Err(_))), "{:?}", results[1]);
    assert!(matches!(results[2], Ok(Ok(()))), "{:?}", results[2]);
    assert_eq!(committed_notes(&file), ["a", "c"]);
    assert_eq!(writer.stats().commits, 1, "the three shared one commit");
}

#[test]
fn a_failed_commit_fails_every_member_and_keeps_nothing() {
    let file = file();
    let writer = writer(&file, Duration::from_secs(10));
    let (first, second) = thread::scope(|scope| {
        let first = scope.spawn(|| {
            writer.run(|conn| {
                note(conn, "kept only if the commit succeeds")?;
                until_queued(&writer, 1);
                Ok::<_, diesel::result::Error>(())
            })
        });
        let second = scope.spawn(|| {
            until_running(&writer);
            writer.run(|conn| {
                // Deferred: the statement passes and the group's COMMIT fails.
                diesel::sql_query("INSERT INTO children (parent) VALUES ('missing')")
                    .execute(conn)
                    .map(drop)
            })
        });
        (first.join().unwrap(), second.join().unwrap())
    });
    assert!(first.is_err(), "the first member was told {first:?}");
    assert!(second.is_err(), "the second member was told {second:?}");
    assert!(committed_notes(&file).is_empty());
    // The writer goes on with a fresh connection.
    writer.run(|conn| note(conn, "after")).unwrap().unwrap();
    assert_eq!(committed_notes(&file), ["after"]);
}

#[test]
fn a_panicking_body_fails_its_group_and_frees_the_writer() {
    let file = file();
    let writer = writer(&file, Duration::from_secs(10));
    let (first, panicked) = thread::scope(|scope| {
        let first = scope.spawn(|| {
            writer.run(|conn| {
                note(conn, "a")?;
                until_queued(&writer, 1);
                Ok::<_, diesel::result::Error>(())
            })
        });
        let panicking = scope.spawn(|| {
            until_running(&writer);
            writer.run(|conn| -> Result<(), diesel::result::Error> {
                note(conn, "b")?;
                panic!("a bug in a body");
            })
        });
        (first.join().unwrap(), panicking.join())
    });
    assert!(panicked.is_err(), "the body's panic reaches its caller");
    assert!(
        matches!(first, Err(StoreError::Unavailable(_))),
        "the member before it was told {first:?}"
    );
    assert!(committed_notes(&file).is_empty());
    writer.run(|conn| note(conn, "after")).unwrap().unwrap();
    assert_eq!(committed_notes(&file), ["after"]);
}

#[test]
fn a_write_waits_for_its_turn_no_longer_than_the_timeout() {
    let file = file();
    let writer = writer(&file, Duration::from_millis(50));
    let (release, released) = mpsc::channel::<()>();
    let (holder, waiter) = thread::scope(|scope| {
        let writer = &writer;
        let holder = scope.spawn(move || {
            writer.run(|conn| {
                note(conn, "held")?;
                released.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
        });
        let waiter = scope
            .spawn(|| {
                until_running(writer);
                let started = Instant::now();
                let outcome = writer.run(|conn| note(conn, "late"));
                (outcome, started.elapsed())
            })
            .join()
            .unwrap();
        release.send(()).unwrap();
        (holder.join().unwrap(), waiter)
    });
    let (outcome, waited) = waiter;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert!(matches!(holder, Ok(Ok(()))), "{holder:?}");
    assert_eq!(committed_notes(&file), ["held"]);
}

#[test]
fn an_exclusive_body_runs_after_the_open_group_commits() {
    let file = file();
    let writer = writer(&file, Duration::from_secs(10));
    let (member, seen) = thread::scope(|scope| {
        let member = scope.spawn(|| {
            writer.run(|conn| {
                note(conn, "grouped")?;
                until_queued(&writer, 1);
                Ok::<_, diesel::result::Error>(())
            })
        });
        let exclusive = scope.spawn(|| {
            until_running(&writer);
            writer.exclusive(|_| committed_notes(&file)).unwrap()
        });
        (member.join().unwrap(), exclusive.join().unwrap())
    });
    assert!(matches!(member, Ok(Ok(()))), "{member:?}");
    assert_eq!(seen, ["grouped"], "committed before the exclusive body ran");
}
