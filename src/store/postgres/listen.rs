//! Waking workers: the triggers (and `enqueue_needed`, `retry_failed`) `NOTIFY <schema>_work`;
//! `vecsync work` keeps one extra connection that `LISTEN`s and wakes every waiting worker.
//!
//! `LISTEN` needs a session of its own, which a connection pooler in transaction mode
//! (pgbouncer `pool_mode = transaction`, Supabase's port 6543) does not give: the server
//! connection that ran `LISTEN` goes to other clients, and notifications never reach
//! vecsync. So the first wait checks that a notification really arrives (one `NOTIFY`
//! through the pool, up to [`PROBE_TIMEOUT`]); when none does, or when `database_url`
//! says it is such a pooler (`pgbouncer=true`, port 6543), workers poll every
//! `worker.poll_seconds` instead, and one INFO line says so and what it costs. With
//! `listen_url` (a direct or session-mode URL to the same database), `LISTEN` runs there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::{watch, Mutex};
use tokio_postgres::Client;

use super::connect::ConnectSpec;
use super::errors::{PgError, PgResultExt};
use super::PostgresStore;
use crate::config::quote_ident;

/// How long the first wait waits for its own test notification before concluding that
/// notifications do not arrive.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) struct Listen {
    /// `listen_url`: where to `LISTEN`, when not on `database_url`.
    direct: Option<ConnectSpec>,
    state: Mutex<State>,
    /// Notifications counted when a wait last returned: one that arrived in between
    /// (while the worker was claiming) wakes the next wait at once.
    seen: AtomicU64,
}

enum State {
    /// Nothing set up yet (or after `uninstall`).
    Start,
    Listening(Listener),
    /// Notifications cannot reach vecsync: workers poll.
    Polling,
}

/// The `LISTEN` connection: its driver bumps `notified` on every notification, which wakes
/// every waiting worker at once.
struct Listener {
    client: Client,
    notified: Arc<watch::Sender<u64>>,
}

impl Listen {
    pub(super) fn new(direct: Option<ConnectSpec>) -> Listen {
        Listen {
            direct,
            state: Mutex::new(State::Start),
            seen: AtomicU64::new(0),
        }
    }

    /// Closes the connection (after `uninstall`); the next wait sets up again.
    pub(super) async fn forget(&self) {
        *self.state.lock().await = State::Start;
    }
}

/// Waits for a notification on the store's channel, or `timeout`. The first call (and the
/// first after the connection was lost) sets up `LISTEN` and returns at once: work queued
/// before `LISTEN` took effect would go unnoticed otherwise.
pub(super) async fn wait_for_work(store: &PostgresStore, timeout: Duration) -> Result<()> {
    let listen = &store.listen;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut notified = {
        let mut guard = match tokio::time::timeout_at(deadline, listen.state.lock()).await {
            Ok(g) => g,
            Err(_) => return Ok(()),
        };
        match &*guard {
            State::Polling => {
                drop(guard);
                tokio::time::sleep_until(deadline).await;
                return Ok(());
            }
            State::Listening(l) if !l.client.is_closed() => l.notified.subscribe(),
            lost => {
                if matches!(lost, State::Listening(_)) {
                    tracing::warn!(
                        "lost the LISTEN connection to {}; reconnecting",
                        listen.direct.as_ref().unwrap_or(&store.pool.spec).redacted
                    );
                }
                *guard = State::Start;
                *guard = set_up(store, timeout).await?;
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

/// Opens the `LISTEN` connection and checks that a notification arrives on it; or decides
/// to poll every `poll`, saying why in one line.
async fn set_up(store: &PostgresStore, poll: Duration) -> Result<State> {
    let listen = &store.listen;
    let pool_spec = &store.pool.spec;
    let polling = |why: String| {
        tracing::info!(
            "{why}: `work` polls for new and changed rows every {poll:?} instead of being woken by \
             LISTEN/NOTIFY, so a change waits up to {poll:?} before it is embedded; set \
             listen_url (env DIRECT_URL) to a direct or session-mode connection to the same \
             database to have changes at once, or lower worker.poll_seconds"
        );
        Ok(State::Polling)
    };
    let spec = match (&listen.direct, pool_spec.pooler_hint) {
        (Some(direct), _) => direct,
        (None, Some(hint)) => {
            return polling(format!(
                "database_url {} is a connection pooler in transaction mode ({hint})",
                pool_spec.redacted
            ))
        }
        (None, None) => pool_spec,
    };
    // Starts at the count already seen: only new notifications wake.
    let notified = Arc::new(watch::channel(listen.seen.load(Ordering::SeqCst)).0);
    let mut probe = notified.subscribe();
    let client = spec.open(Some(notified.clone())).await.map_err(|e| {
        anyhow::Error::new(PgError::connect(e))
            .context(format!("cannot LISTEN on {}", spec.redacted))
    })?;
    if listen.direct.is_none() {
        // A URL port that is not the server's own: a pooler or proxy is in between. In
        // transaction mode a LISTEN would stay on a server connection that other clients
        // are handed next (they would get vecsync's notifications, and vecsync none), and
        // the probe below can pass anyway. Unless told it is safe (listen_url), poll.
        let url_port = spec.pg.get_ports().first().copied().unwrap_or(5432);
        // Unnamed (query_typed): a pooled session must not keep a prepared statement.
        let server_port: Option<i32> = client
            .query_typed("SELECT inet_server_port()", &[])
            .await
            .pg()?
            .first()
            .and_then(|r| r.get(0));
        if let Some(server_port) = server_port.filter(|p| *p != i32::from(url_port)) {
            return polling(format!(
                "database_url {} reaches the server (port {server_port}) through port {url_port}: a pooler or proxy, maybe in transaction mode, where LISTEN is not safe (if it is a direct or session-mode connection, set listen_url to the same URL)",
                pool_spec.redacted
            ));
        }
    }
    client
        .batch_execute(&format!("LISTEN {}", quote_ident(&store.names.channel)))
        .await
        .pg()?;
    store.notify().await?;
    if let Ok(Ok(())) = tokio::time::timeout(PROBE_TIMEOUT, probe.changed()).await {
        listen
            .seen
            .store(*probe.borrow_and_update(), Ordering::SeqCst);
        if listen.direct.is_some() {
            tracing::info!(
                "LISTEN on listen_url {}: changes wake `work` at once",
                spec.redacted
            );
        }
        return Ok(State::Listening(Listener { client, notified }));
    }
    // Through a transaction pooler the LISTEN stays on a server connection other clients
    // get: take it back as well as one can.
    let _ = client.batch_execute("UNLISTEN *").await;
    if listen.direct.is_some() {
        polling(format!(
            "a notification sent through database_url {} did not arrive on listen_url {} within {PROBE_TIMEOUT:?} (is it the same database, without a transaction pooler?)",
            pool_spec.redacted, spec.redacted
        ))
    } else {
        polling(format!(
            "a notification sent through database_url {} did not arrive within {PROBE_TIMEOUT:?} (a connection pooler in transaction mode?)",
            pool_spec.redacted
        ))
    }
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
