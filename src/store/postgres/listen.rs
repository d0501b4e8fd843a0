//! LISTEN/NOTIFY: the triggers (and `enqueue_needed`, `retry_failed`) `NOTIFY <schema>_work`;
//! `vecsync work` keeps one extra connection that `LISTEN`s and wakes every waiting worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{watch, Mutex};
use tokio_postgres::Client;

use super::errors::{PgError, PgResultExt};
use super::PostgresStore;
use crate::config::quote_ident;

/// The `LISTEN` connection, opened by the first wait.
#[derive(Default)]
pub(super) struct Listen {
    listener: Mutex<Option<Listener>>,
    /// Notifications counted when a wait last returned: one that arrived in between
    /// (while the worker was claiming) wakes the next wait at once.
    seen: AtomicU64,
}

/// The `LISTEN` connection: its driver bumps `notified` on every notification, which wakes
/// every waiting worker at once.
struct Listener {
    client: Client,
    notified: Arc<watch::Sender<u64>>,
}

impl Listen {
    /// Closes the connection (after `uninstall`); the next wait opens a new one.
    pub(super) async fn forget(&self) {
        *self.listener.lock().await = None;
    }
}

/// Waits for a notification on the store's channel, or `timeout`. The first call (and the
/// first after the connection was lost) sets up `LISTEN` and returns at once: work queued
/// before `LISTEN` took effect would go unnoticed otherwise.
pub(super) async fn wait_for_work(store: &PostgresStore, timeout: Duration) -> Result<()> {
    let listen = &store.listen;
    let spec = &store.pool.spec;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut notified = {
        let mut guard = match tokio::time::timeout_at(deadline, listen.listener.lock()).await {
            Ok(g) => g,
            Err(_) => return Ok(()),
        };
        match guard.as_ref() {
            Some(l) if !l.client.is_closed() => l.notified.subscribe(),
            lost => {
                if lost.is_some() {
                    tracing::warn!(
                        "lost the LISTEN connection to {}; reconnecting",
                        spec.redacted
                    );
                }
                *guard = None;
                // Starts at the count already seen: only new notifications wake.
                let notified = Arc::new(watch::channel(listen.seen.load(Ordering::SeqCst)).0);
                let client = spec.open(Some(notified.clone())).await.map_err(|e| {
                    anyhow::Error::new(PgError::connect(e))
                        .context(format!("cannot LISTEN on {}", spec.redacted))
                })?;
                client
                    .batch_execute(&format!("LISTEN {}", quote_ident(&store.names.channel)))
                    .await
                    .pg()?;
                *guard = Some(Listener { client, notified });
                return Ok(());
            }
        }
    };
    // A notification since the last wake-up, or the next one (a burst counts once), or the
    // timeout.
    let current = *notified.borrow_and_update();
    if listen.seen.swap(current, Ordering::SeqCst) != current {
        return Ok(());
    }
    if let Ok(Ok(())) = tokio::time::timeout_at(deadline, notified.changed()).await {
        listen
            .seen
            .store(*notified.borrow_and_update(), Ordering::SeqCst);
    }
    Ok(())
}

impl PostgresStore {
    /// Wakes the workers waiting on this store's channel.
    pub(super) async fn notify(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        c.execute("SELECT pg_notify($1, '')", &[&self.names.channel])
            .await?;
        Ok(())
    }
}
