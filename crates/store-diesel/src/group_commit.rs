//! SQLite's one writer connection, shared by group commit. With `synchronous = FULL` every
//! commit waits for an fsync of the WAL, and one writer can only commit one after the
//! other: the fsync, not the statements, bounded SQLite's write rate. Here the writes that
//! queue up during one commit share the next: the first opens an immediate transaction,
//! each runs its body inside a savepoint of it (rolled back alone when the body fails),
//! and the member that finds no one queued behind it commits for the whole group.
//!
//! Durability and atomicity are as before: no member is answered before the commit that
//! holds its writes is durable, a body's writes are all or nothing, and when the group's
//! commit fails every member whose body succeeded gets that failure (its writes are gone).
//! Members run one at a time, on the one connection, so the group is serial: a body sees
//! the writes of the members before it, which commit with it or not at all.
//!
//! Bodies run on their own threads; only the connection and the turn to use it pass
//! between them. A body must not open a transaction itself (it is inside one).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::SqliteConnection;
use grantd_ports::StoreError;

use crate::errors::{classify, Failure};
use crate::pool::{Manager, SqlitePool};

type Pooled = r2d2::PooledConnection<Manager<SqliteConnection>>;

/// The most bodies one commit holds: under a queue that never empties, the first member
/// waits for at most this many bodies before its commit.
const MAX_MEMBERS: usize = 64;

/// The writer: its connection pool (one connection), and who may use it now.
pub(crate) struct GroupCommit {
    pool: SqlitePool,
    /// How long a write waits for its turn before `Unavailable` (the pool's checkout
    /// timeout, as when writers queued in the pool).
    turn_timeout: Duration,
    max_members: usize,
    state: Mutex<State>,
    /// Signalled when the turn is free.
    turn: Condvar,
    /// Signalled when a group's commit has settled.
    settled: Condvar,
}

#[derive(Default)]
struct State {
    /// A thread holds the turn: it alone uses the connection.
    running: bool,
    /// Threads waiting for the turn. The member that sees none commits.
    queued: usize,
    /// The group whose transaction is open between two turns.
    open: Option<OpenGroup>,
    /// What the tests read through [`GroupCommit::stats`].
    #[cfg(test)]
    stats: GroupStats,
}

impl State {
    #[cfg(test)]
    fn count(&mut self, members: usize) {
        self.stats.commits += 1;
        self.stats.members += members as u64;
    }

    #[cfg(not(test))]
    fn count(&mut self, _members: usize) {}
}

/// An open immediate transaction and the members inside it.
struct OpenGroup {
    conn: Pooled,
    members: usize,
    outcome: Arc<Outcome>,
}

/// How a group's commit ended; set once, under the state lock.
type Outcome = OnceLock<Result<(), StoreError>>;

/// Commits and the bodies they held, since the start: their ratio is the mean group size.
#[cfg(test)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupStats {
    pub(crate) commits: u64,
    pub(crate) members: u64,
}

impl GroupCommit {
    pub(crate) fn new(pool: SqlitePool, turn_timeout: Duration) -> Self {
        Self::with_max_members(pool, turn_timeout, MAX_MEMBERS)
    }

    fn with_max_members(pool: SqlitePool, turn_timeout: Duration, max_members: usize) -> Self {
        Self {
            pool,
            turn_timeout,
            max_members,
            state: Mutex::default(),
            turn: Condvar::new(),
            settled: Condvar::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> GroupStats {
        self.lock().stats
    }

    /// Runs `body` as one member of a group. `Ok(Ok(value))` only once the commit that
    /// holds the body's writes is durable; `Ok(Err(e))` is the body's own error, its writes
    /// rolled back; `Err` is the group's failure (no turn in time, no connection, or a
    /// failed transaction), and then nothing of the body was kept.
    pub(crate) fn run<T, E>(
        &self,
        body: impl FnOnce(&mut SqliteConnection) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        let mut turn = self.take_turn()?;
        if turn.group.is_none() {
            turn.group = Some(self.open()?);
        }
        let group = turn.group.as_mut().expect("opened above");
        // A savepoint that cannot be taken or ended leaves the transaction in doubt: the
        // `?` drops the turn, which rolls the whole group back.
        let result = member(&mut group.conn.inner, body)?;
        group.members += 1;
        let outcome = Arc::clone(&group.outcome);
        if !turn.pass_to_queued(self.max_members) {
            let outcome = turn.commit();
            turn.release();
            return outcome.map(|()| result);
        }
        if result.is_err() {
            // Nothing of this body is left to commit.
            return Ok(result);
        }
        self.wait_for(&outcome).map(|()| result)
    }

    /// Runs `body` alone on the connection, outside any group (a group left open is
    /// committed first): for a body that manages its own transaction, as the migrations do.
    pub(crate) fn exclusive<T>(
        &self,
        body: impl FnOnce(&mut SqliteConnection) -> T,
    ) -> Result<T, StoreError> {
        let mut turn = self.take_turn()?;
        if turn.group.is_some() {
            // Its members are waiting for this commit; its outcome is theirs.
            let _ = turn.commit();
        }
        let mut conn = self.pool.get().map_err(Failure::Checkout)?;
        let value = body(&mut conn.inner);
        drop(conn);
        turn.release();
        Ok(value)
    }

    fn take_turn(&self) -> Result<Turn<'_>, StoreError> {
        let deadline = Instant::now() + self.turn_timeout;
        let mut state = self.lock();
        state.queued += 1;
        // Leave only while another thread holds the turn: it decides after this thread's
        // count is gone, so a group is never left open with no one to commit it.
        while state.running {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.queued -= 1;
                return Err(StoreError::Unavailable(
                    "the SQLite writer stayed busy past the connect timeout".into(),
                ));
            }
            state = self
                .turn
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.queued -= 1;
        state.running = true;
        let group = state.open.take();
        Ok(Turn {
            writer: self,
            group,
            done: false,
        })
    }

    /// A connection inside a new immediate transaction: it takes the write lock up front,
    /// so a second process's writer waits in `busy_timeout` instead of failing later.
    fn open(&self) -> Result<OpenGroup, StoreError> {
        let mut conn = self.pool.get().map_err(Failure::Checkout)?;
        conn.inner
            .batch_execute("BEGIN IMMEDIATE")
            .map_err(|error| classify(&error))?;
        Ok(OpenGroup {
            conn,
            members: 0,
            outcome: Arc::default(),
        })
    }

    fn wait_for(&self, outcome: &Outcome) -> Result<(), StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(settled) = outcome.get() {
                return settled.clone();
            }
            state = self
                .settled
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// No user code runs under this lock, so a poisoned lock still guards a sound state.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One body inside a savepoint: released when it succeeds, rolled back when it fails.
/// `Err` when the savepoint itself failed (SQLite may have rolled the whole transaction
/// back, as it does on an I/O error).
fn member<T, E>(
    conn: &mut SqliteConnection,
    body: impl FnOnce(&mut SqliteConnection) -> Result<T, E>,
) -> Result<Result<T, E>, StoreError> {
    conn.batch_execute("SAVEPOINT grantd_member")
        .map_err(|error| classify(&error))?;
    let result = body(conn);
    let end = match result {
        Ok(_) => "RELEASE grantd_member",
        Err(_) => "ROLLBACK TO grantd_member; RELEASE grantd_member",
    };
    conn.batch_execute(end).map_err(|error| classify(&error))?;
    Ok(result)
}

/// The turn to use the connection, held by one thread. Dropped without `release` or
/// `pass` (an error mid-way, or a panicking body), it rolls back the open group, fails its
/// members, and frees the turn.
struct Turn<'a> {
    writer: &'a GroupCommit,
    group: Option<OpenGroup>,
    done: bool,
}

impl Turn<'_> {
    /// Commits the open group and tells its members how that went.
    fn commit(&mut self) -> Result<(), StoreError> {
        let Some(mut group) = self.group.take() else {
            return Ok(());
        };
        let outcome = group
            .conn
            .inner
            .batch_execute("COMMIT")
            .map_err(|error| classify(&error));
        if outcome.is_err() {
            abandon(&mut group.conn);
        }
        self.settle(group, outcome.clone());
        outcome
    }

    fn settle(&self, group: OpenGroup, outcome: Result<(), StoreError>) {
        let members = group.members;
        let shared = group.outcome;
        // Back to the pool before anyone can take the turn and ask the pool for it.
        drop(group.conn);
        let mut state = self.writer.lock();
        state.count(members);
        let _ = shared.set(outcome);
        drop(state);
        self.writer.settled.notify_all();
    }

    /// Hands the open group to the next queued thread and frees the turn (`true`), or
    /// keeps both (`false`) when none is queued or the group is full: then this thread
    /// must commit. Deciding and handing over under one lock is what keeps a thread that
    /// gives up waiting from leaving a group open with no one to commit it.
    fn pass_to_queued(&mut self, max_members: usize) -> bool {
        let mut state = self.writer.lock();
        let members = self.group.as_ref().map_or(0, |group| group.members);
        if state.queued == 0 || members >= max_members {
            return false;
        }
        state.open = self.group.take();
        state.running = false;
        drop(state);
        self.done = true;
        self.writer.turn.notify_one();
        true
    }

    /// Frees the turn; the group, if one is still open, goes with the next thread.
    fn pass(mut self) {
        let mut state = self.writer.lock();
        state.open = self.group.take();
        state.running = false;
        drop(state);
        self.done = true;
        self.writer.turn.notify_one();
    }

    fn release(self) {
        debug_assert!(self.group.is_none(), "a group is committed before release");
        self.pass();
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(mut group) = self.group.take() {
            abandon(&mut group.conn);
            let failed = StoreError::Unavailable(
                "the SQLite write transaction failed and was rolled back".into(),
            );
            self.settle(group, Err(failed));
        }
        let mut state = self.writer.lock();
        state.running = false;
        drop(state);
        self.writer.turn.notify_one();
    }
}

/// Rolls back whatever is left of the transaction and has the pool drop the connection
/// rather than hand out one whose state is in doubt.
fn abandon(conn: &mut Pooled) {
    let _ = conn.inner.batch_execute("ROLLBACK");
    conn.mark_lost();
}

#[cfg(test)]
mod tests;
