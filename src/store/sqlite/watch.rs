//! Wake-ups for `vecsync work`: SQLite has no LISTEN/NOTIFY, so a thread with its own
//! connection polls `PRAGMA data_version` (which changes when any other connection, in
//! any process, commits to the file) every [`POLL`], and counts the changes it sees.
//!
//! A poll is a short read transaction (in WAL mode, a look at the shared-memory index):
//! 4–7 µs measured by `benches/sync_latency.rs`, about 0.01% of a core at 20 polls a
//! second.
//! vecsync's own writes count as changes too (the watcher uses another connection); the
//! worst they cause is one empty claim after a batch.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::watch;

/// How often the file is polled: the floor of the sync latency.
const POLL: Duration = Duration::from_millis(50);

pub(super) struct Watcher {
    changes: watch::Receiver<u64>,
    /// Changes counted when a wait last returned: one that came in between (while the
    /// worker was claiming) wakes the next wait at once.
    seen: AtomicU64,
}

impl Watcher {
    /// Starts the polling thread; it stops when the watcher is dropped.
    pub fn start(path: &Path) -> Result<Watcher> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open {} to watch it", path.display()))?;
        let version = |conn: &Connection| -> rusqlite::Result<i64> {
            conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        };
        let mut last = version(&conn)?;
        let (tx, changes) = watch::channel(0u64);
        std::thread::Builder::new()
            .name("vecsync-sqlite-watch".into())
            .spawn(move || {
                while !tx.is_closed() {
                    std::thread::sleep(POLL);
                    match version(&conn) {
                        Ok(v) if v != last => {
                            last = v;
                            tx.send_modify(|n| *n = n.wrapping_add(1));
                        }
                        Ok(_) => {}
                        Err(e) => tracing::debug!("polling PRAGMA data_version: {e}"),
                    }
                }
            })
            .context("cannot start the SQLite watcher thread")?;
        Ok(Watcher {
            changes,
            seen: AtomicU64::new(0),
        })
    }

    /// Returns when another connection committed since the last wait returned, or after
    /// `timeout`.
    pub async fn wait(&self, timeout: Duration) {
        let mut changes = self.changes.clone();
        let current = *changes.borrow_and_update();
        if self.seen.swap(current, Ordering::SeqCst) != current {
            return;
        }
        match tokio::time::timeout(timeout, changes.changed()).await {
            Ok(Ok(())) => {
                self.seen
                    .store(*changes.borrow_and_update(), Ordering::SeqCst);
            }
            // The thread is gone (it never stops while we hold the receiver): wait out
            // the timeout rather than spin.
            Ok(Err(_)) => tokio::time::sleep(timeout).await,
            Err(_) => {}
        }
    }
}
