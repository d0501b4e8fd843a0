//! The connection pool: a few connections opened on demand, each with a cache of its
//! prepared statements; a connection that broke is replaced, with one log line naming the
//! redacted URL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::connect::ConnectSpec;
use super::errors::{describe, is_permanent_connect_error, pg_error, PgError};
use crate::config_error;

/// Connections per store: enough for the claims and writes of a few concurrent batches
/// plus `status`; connections are opened on demand.
const POOL_SIZE: usize = 8;
/// How long [`Pool::get`] keeps trying to (re)connect before giving up (the pipeline
/// retries store calls with its own, longer budget).
const RECONNECT_BUDGET: Duration = Duration::from_secs(5);

/// A pooled connection with its prepared statements (so a statement costs one round trip
/// after its first use on that connection).
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<String, Statement>,
    /// vecsync's schema, to explain "relation does not exist" before `init`.
    schema: Arc<str>,
}

impl Conn {
    fn new(client: Client, schema: Arc<str>) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
            schema,
        }
    }

    /// A statement on vecsync's tables before `init` becomes a one-line setup error (and see
    /// [`pg_error`]).
    fn explain(&self, e: tokio_postgres::Error) -> anyhow::Error {
        let missing = e.code() == Some(&SqlState::UNDEFINED_TABLE)
            && e.as_db_error()
                .is_some_and(|db| db.message().contains(&format!("\"{}.", self.schema)));
        if missing {
            config_error!(
                "schema: vecsync is not set up in this database (schema {:?} is missing); run `vecsync init`",
                self.schema.as_ref()
            )
        } else {
            pg_error(e)
        }
    }

    pub(super) async fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self
            .client
            .prepare(sql)
            .await
            .map_err(|e| self.explain(e))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(super) async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let s = self.prepare(sql).await?;
        self.client
            .query(&s, params)
            .await
            .map_err(|e| self.explain(e))
    }

    pub(super) async fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::Row> {
        let s = self.prepare(sql).await?;
        self.client
            .query_one(&s, params)
            .await
            .map_err(|e| self.explain(e))
    }

    pub(super) async fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64> {
        let s = self.prepare(sql).await?;
        self.client
            .execute(&s, params)
            .await
            .map_err(|e| self.explain(e))
    }
}

pub(super) struct Pool {
    pub(super) spec: ConnectSpec,
    schema: Arc<str>,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    /// Set while connections are being lost/replaced, so recovery is logged once.
    degraded: AtomicBool,
}

pub(super) struct PooledConn<'a> {
    conn: Option<Conn>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl std::ops::Deref for PooledConn<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A connection that broke is not reused. (One dropped inside a transaction is
            // fine: tokio-postgres queues its ROLLBACK before any later statement.)
            if !conn.client.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(conn);
            }
        }
    }
}

impl Pool {
    pub(super) fn new(spec: ConnectSpec, schema: &str) -> Pool {
        Pool {
            spec,
            schema: schema.into(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_SIZE),
            degraded: AtomicBool::new(false),
        }
    }

    pub(super) async fn get(&self) -> Result<PooledConn<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .context("connection pool closed")?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match idle {
                Some(conn) if !conn.client.is_closed() => {
                    return Ok(PooledConn {
                        conn: Some(conn),
                        pool: self,
                        _permit: permit,
                    })
                }
                Some(_) => {
                    if !self.degraded.swap(true, Ordering::SeqCst) {
                        tracing::warn!(
                            "lost a connection to PostgreSQL at {}; reconnecting",
                            self.spec.redacted
                        );
                    }
                }
                None => break,
            }
        }
        let client = self.connect_with_backoff(RECONNECT_BUDGET).await?;
        Ok(PooledConn {
            conn: Some(Conn::new(client, self.schema.clone())),
            pool: self,
            _permit: permit,
        })
    }

    pub(super) async fn connect_with_backoff(&self, budget: Duration) -> Result<Client> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            match self.spec.open(None).await {
                Ok(client) => {
                    if self.degraded.swap(false, Ordering::SeqCst) {
                        tracing::info!("reconnected to PostgreSQL at {}", self.spec.redacted);
                    }
                    return Ok(client);
                }
                Err(e) if is_permanent_connect_error(&e) || started.elapsed() + wait > budget => {
                    self.degraded.store(true, Ordering::SeqCst);
                    return Err(anyhow::Error::new(PgError(e))
                        .context(format!("cannot connect to {}", self.spec.redacted)));
                }
                Err(e) => {
                    self.degraded.store(true, Ordering::SeqCst);
                    tracing::warn!(
                        "cannot connect to PostgreSQL at {} ({}); retrying in {wait:?}",
                        self.spec.redacted,
                        describe(&e)
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Adds an open connection to the idle ones (the one `connect` checked the URL with).
    pub(super) fn keep(&self, client: Client) {
        let conn = Conn::new(client, self.schema.clone());
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }

    /// Forgets idle connections (their prepared statements may name dropped objects).
    pub(super) fn reset(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
