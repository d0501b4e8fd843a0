//! The connection pool: a few connections opened on demand; a connection that broke is
//! replaced, with one log line naming the redacted URL.
//!
//! Statements run as unnamed statements whose parameter types are declared by the caller's
//! Rust values ([`Param`]): parse, bind and execute go out in one round trip and nothing
//! is left on the server between statements. That is what lets vecsync run through a
//! connection pooler in transaction mode (pgbouncer `pool_mode = transaction`, Supabase's
//! port 6543), which hands the server connection to another client after every
//! transaction: a named prepared statement would be missing there, or collide with
//! another client's (`prepared statement "s0" already exists`). The price is that the
//! server plans each statement every time (a fraction of a millisecond for vecsync's).
//! No session state is used either: no `SET`, no session advisory lock, no temporary
//! table (`LISTEN` is handled in [`super::listen`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Kind, ToSql, Type};
use tokio_postgres::{Client, GenericClient, IsolationLevel, Row, Transaction};

use super::connect::ConnectSpec;
use super::errors::{describe, pg_error, PgError};
use super::statements::VecParam;
use crate::config_error;
use crate::store::ErrorKind;

/// Connections per store: enough for the claims and writes of a few concurrent batches
/// plus `status`; connections are opened on demand.
const POOL_SIZE: usize = 8;
/// How long [`Pool::get`] keeps trying to (re)connect before giving up (the pipeline
/// retries store calls with its own, longer budget).
const RECONNECT_BUDGET: Duration = Duration::from_secs(5);

/// The PostgreSQL type a statement parameter is sent as.
#[derive(Debug, Clone)]
pub(super) enum PgType {
    Is(Type),
    /// pgvector's `vector` (its OID depends on the database).
    Vector,
    /// `vector[]`.
    VectorArray,
}

/// A statement parameter: a value and the type it is declared as (the server does not
/// infer parameter types for us: no prepare round trip). `&[&a, &b]` coerces to
/// `&[&dyn Param]` like it does to `&[&(dyn ToSql + Sync)]`.
pub(super) trait Param: Sync {
    fn pg_type(&self) -> PgType;
    fn as_sql(&self) -> &(dyn ToSql + Sync);
}

/// The PostgreSQL type of a Rust value, for [`Param`].
trait Typed {
    const TYPE: PgType;
}

impl<T: Typed + ToSql + Sync> Param for T {
    fn pg_type(&self) -> PgType {
        T::TYPE
    }
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        self
    }
}

macro_rules! typed {
    ($($rust:ty => $pg:expr),* $(,)?) => {
        $(impl Typed for $rust {
            const TYPE: PgType = $pg;
        })*
    };
}

typed!(
    bool => PgType::Is(Type::BOOL),
    i32 => PgType::Is(Type::INT4),
    i64 => PgType::Is(Type::INT8),
    u32 => PgType::Is(Type::OID),
    f32 => PgType::Is(Type::FLOAT4),
    f64 => PgType::Is(Type::FLOAT8),
    str => PgType::Is(Type::TEXT),
    String => PgType::Is(Type::TEXT),
    Vec<bool> => PgType::Is(Type::BOOL_ARRAY),
    Vec<i64> => PgType::Is(Type::INT8_ARRAY),
    Vec<&str> => PgType::Is(Type::TEXT_ARRAY),
    Vec<String> => PgType::Is(Type::TEXT_ARRAY),
    Vec<Option<&str>> => PgType::Is(Type::TEXT_ARRAY),
    VecParam<'_> => PgType::Vector,
    Vec<VecParam<'_>> => PgType::VectorArray,
);

impl<T: Typed + ?Sized> Typed for &T {
    const TYPE: PgType = T::TYPE;
}

/// NULL is sent as the type of the value it stands for.
impl<T: Typed> Typed for Option<T> {
    const TYPE: PgType = T::TYPE;
}

/// pgvector's types in this database, looked up on first use (`sql/pool/vector_type.sql`).
#[derive(Default)]
pub(super) struct VectorTypes(Mutex<Option<(Type, Type)>>);

impl VectorTypes {
    async fn get(
        &self,
        client: &(impl GenericClient + Sync),
    ) -> Result<(Type, Type), tokio_postgres::Error> {
        if let Some(t) = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(t);
        }
        let row = client
            .query_typed_opt(include_str!("sql/pool/vector_type.sql"), &[])
            .await?;
        let Some(row) = row else {
            // pgvector is not installed: OID 0 lets the server infer the type, and name
            // the missing one in its error.
            let vector = Type::new("vector".into(), 0, Kind::Simple, String::new());
            let array = Type::new("_vector".into(), 0, Kind::Array(vector.clone()), "".into());
            return Ok((vector, array));
        };
        let (oid, array_oid, schema): (u32, u32, String) = (row.get(0), row.get(1), row.get(2));
        let vector = Type::new("vector".into(), oid, Kind::Simple, schema.clone());
        let array = Type::new(
            "_vector".into(),
            array_oid,
            Kind::Array(vector.clone()),
            schema,
        );
        let types = (vector, array);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(types.clone());
        Ok(types)
    }

    /// Forgets the types (after `uninstall`: the extension may be re-created).
    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// `params` with their declared types, for `query_typed`.
async fn typed<'p>(
    client: &(impl GenericClient + Sync),
    vector: &VectorTypes,
    params: &'p [&'p dyn Param],
) -> Result<Vec<(&'p (dyn ToSql + Sync), Type)>, tokio_postgres::Error> {
    let mut out = Vec::with_capacity(params.len());
    for p in params {
        let ty = match p.pg_type() {
            PgType::Is(t) => t,
            PgType::Vector => vector.get(client).await?.0,
            PgType::VectorArray => vector.get(client).await?.1,
        };
        out.push((p.as_sql(), ty));
    }
    Ok(out)
}

/// A pooled connection.
pub(super) struct Conn {
    pub(super) client: Client,
    /// vecsync's schema, to explain "relation does not exist" before `init`.
    schema: Arc<str>,
    vector: Arc<VectorTypes>,
}

/// A statement on vecsync's tables before `init` becomes a one-line setup error.
fn explain(schema: &str, e: tokio_postgres::Error) -> anyhow::Error {
    let missing = e.code() == Some(&SqlState::UNDEFINED_TABLE)
        && e.as_db_error()
            .is_some_and(|db| db.message().contains(&format!("\"{schema}.")));
    if missing {
        config_error!(
            setting = "schema",
            "vecsync is not set up in this database (schema {schema:?} is missing); run `vecsync init`"
        )
    } else {
        pg_error(e)
    }
}

impl Conn {
    fn explain(&self, e: tokio_postgres::Error) -> anyhow::Error {
        explain(&self.schema, e)
    }

    pub(super) async fn query(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Vec<Row>> {
        let params = typed(&self.client, &self.vector, params)
            .await
            .map_err(|e| self.explain(e))?;
        self.client
            .query_typed(sql, &params)
            .await
            .map_err(|e| self.explain(e))
    }

    pub(super) async fn query_one(&mut self, sql: &str, params: &[&dyn Param]) -> Result<Row> {
        let params = typed(&self.client, &self.vector, params)
            .await
            .map_err(|e| self.explain(e))?;
        self.client
            .query_typed_one(sql, &params)
            .await
            .map_err(|e| self.explain(e))
    }

    pub(super) async fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        let params = typed(&self.client, &self.vector, params)
            .await
            .map_err(|e| self.explain(e))?;
        self.client
            .execute_typed(sql, &params)
            .await
            .map_err(|e| self.explain(e))
    }

    /// Starts a transaction (rolled back when dropped without [`Tx::commit`]).
    pub(super) async fn transaction(&mut self) -> Result<Tx<'_>, tokio_postgres::Error> {
        Ok(Tx {
            tx: self.client.transaction().await?,
            vector: &self.vector,
            schema: &self.schema,
        })
    }

    /// Starts a read-only transaction that sees one snapshot (`REPEATABLE READ`).
    pub(super) async fn snapshot(&mut self) -> Result<Tx<'_>, tokio_postgres::Error> {
        self.repeatable_read(true).await
    }

    /// Starts a `REPEATABLE READ` transaction: one snapshot, and a write to a row changed
    /// since that snapshot fails (serialization failure) instead of applying to a newer one.
    pub(super) async fn repeatable_read(
        &mut self,
        read_only: bool,
    ) -> Result<Tx<'_>, tokio_postgres::Error> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(read_only)
            .start()
            .await?;
        Ok(Tx {
            tx,
            vector: &self.vector,
            schema: &self.schema,
        })
    }
}

/// A transaction on a pooled connection, with the statement methods of [`Conn`] (errors
/// are tokio-postgres's; `.pg()` makes them [`PgError`]s). Statements may be pipelined
/// (`futures::try_join!`).
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    vector: &'a VectorTypes,
    schema: &'a str,
}

impl Tx<'_> {
    /// Like `.pg()`, but a statement on vecsync's tables before `init` becomes a one-line
    /// setup error.
    pub(super) fn explain(&self, e: tokio_postgres::Error) -> anyhow::Error {
        explain(self.schema, e)
    }

    pub(super) async fn query(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let params = typed(&self.tx, self.vector, params).await?;
        self.tx.query_typed(sql, &params).await
    }

    pub(super) async fn query_one(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Row, tokio_postgres::Error> {
        let params = typed(&self.tx, self.vector, params).await?;
        self.tx.query_typed_one(sql, &params).await
    }

    pub(super) async fn execute(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<u64, tokio_postgres::Error> {
        let params = typed(&self.tx, self.vector, params).await?;
        self.tx.execute_typed(sql, &params).await
    }

    /// Runs SQL without parameters (several statements allowed).
    pub(super) async fn batch_execute(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.tx.batch_execute(sql).await
    }

    pub(super) async fn commit(self) -> Result<(), tokio_postgres::Error> {
        self.tx.commit().await
    }
}

pub(super) struct Pool {
    pub(super) spec: ConnectSpec,
    schema: Arc<str>,
    vector: Arc<VectorTypes>,
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
            vector: Arc::default(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_SIZE),
            degraded: AtomicBool::new(false),
        }
    }

    fn conn(&self, client: Client) -> Conn {
        Conn {
            client,
            schema: self.schema.clone(),
            vector: self.vector.clone(),
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
            conn: Some(self.conn(client)),
            pool: self,
            _permit: permit,
        })
    }

    /// Connects, retrying for up to `budget` while the server is unavailable; a setup
    /// problem (password, database name, TLS) fails at once.
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
                Err(e) => {
                    self.degraded.store(true, Ordering::SeqCst);
                    let e = PgError::connect(e);
                    if e.kind != ErrorKind::Unavailable || started.elapsed() + wait > budget {
                        return Err(anyhow::Error::new(e)
                            .context(format!("cannot connect to {}", self.spec.redacted)));
                    }
                    tracing::warn!(
                        "cannot connect to PostgreSQL at {} ({}); retrying in {wait:?}",
                        self.spec.redacted,
                        describe(&e.error)
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Adds an open connection to the idle ones (the one `connect` checked the URL with).
    pub(super) fn keep(&self, client: Client) {
        let conn = self.conn(client);
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }

    /// Forgets idle connections and pgvector's type OIDs (after `uninstall`).
    pub(super) fn reset(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.vector.forget();
    }
}
