//! PostgreSQL + pgvector.
//!
//! vecsync's bookkeeping lives in its own schema (`vecsync` by default):
//!
//! - `<schema>.queue`: rows that need work, with a lease (`locked_until`), attempts and the
//!   last error; claims take the oldest pending rows with `FOR UPDATE SKIP LOCKED`, so any
//!   number of workers can share it;
//! - `<schema>.state`: per embedded row, the MD5 of the text that was embedded and the model;
//! - `<schema>.meta`: the source table (and settings) this schema was installed for;
//! - `<schema>.migrations`: versions applied;
//! - triggers on the source table that queue new rows and rows whose template columns
//!   changed (or that started to pass the filter), and forget deleted rows, then
//!   `NOTIFY <schema>_work` so that `vecsync work` wakes up at once.
//!
//! The template is rendered by the database ([`Template::to_sql`]): the same expression
//! gives the text to embed (claim), the hash that says whether a row needs work, and the
//! write guard of [`Store::complete`], so the three cannot disagree.
//!
//! Connections come from a small pool (claims and writes of concurrent batches run in
//! parallel); a connection that broke is replaced with a log line naming the redacted URL.
//! `sslmode=disable|prefer|require|verify-ca|verify-full` is honoured with rustls.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, OnceCell, Semaphore, SemaphorePermit};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::TlsStream;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls, Socket, Statement};

use super::*;
use crate::config::{quote_ident, quote_qualified, redact_url, SourceConfig};
use crate::config_error;
use crate::template::{sql_string_literal, Template};

/// Connections per store: enough for the claims and writes of a few concurrent batches
/// plus `status`; connections are opened on demand.
const POOL_SIZE: usize = 8;
/// Source rows examined per `enqueue_needed` statement.
const ENQUEUE_CHUNK: i64 = 10_000;
/// How long [`Pool::get`] keeps trying to (re)connect before giving up (the pipeline
/// retries store calls with its own, longer budget).
const RECONNECT_BUDGET: Duration = Duration::from_secs(5);
/// Version of the objects [`Store::init`] installs; see [`MIGRATIONS`].
const SCHEMA_VERSION: i32 = 2;
/// Dollar-quote tag of generated function bodies.
const FN_TAG: &str = "$vecsync_fn$";

pub struct PostgresStore {
    pool: Pool,
    listener: tokio::sync::Mutex<Option<Listener>>,
    /// Notifications counted when a `wait_for_work` last returned: one that arrived in
    /// between (while the worker was claiming) wakes the next wait at once.
    seen: std::sync::atomic::AtomicU64,
    names: Names,
    source: SourceConfig,
    options: StoreOptions,
    template: Template,
    /// Facts from the catalog (the id column's type…), looked up on first use.
    shape: OnceCell<Shape>,
}

/// SQL fragments built once from the config: identifiers quoted, template compiled.
struct Names {
    schema: String,
    /// Quoted schema.
    qs: String,
    queue: String,
    state: String,
    usage: String,
    meta: String,
    migrations: String,
    /// `NOTIFY` channel (raw; quoted where used as an identifier).
    channel: String,
    /// Quoted `table` / `schema.table`.
    table: String,
    id: String,
    emb: String,
    /// Renders the template for the source row aliased `s`.
    render: String,
    /// `(filter)` or `true`.
    filter: String,
    /// The source restricted to the filter, to be aliased: `(SELECT * FROM t WHERE f)`.
    /// Keeps the operator's bare column names from meeting vecsync's own columns.
    src: String,
}

/// What the catalog says about the source table.
#[derive(Debug, Clone)]
struct Shape {
    oid: u32,
    /// `format_type` of the id column (`bigint`, `uuid`, `character varying(64)`…).
    id_type: String,
    /// The name to cast to for the vector type (schema-qualified when not on the path).
    vec_type: String,
    /// Every column but the embedding column (the UPDATE trigger watches these).
    watched: Vec<String>,
}

impl Names {
    fn new(schema: &str, source: &SourceConfig, template: &Template) -> Names {
        let qs = quote_ident(schema);
        let render = template.to_sql(
            |c| format!("coalesce(s.{}::text, '')", quote_ident(c)),
            sql_string_literal,
            |p| format!("({})", p.join(" || ")),
        );
        let table = quote_qualified(&source.table);
        let filter = match &source.filter {
            Some(f) => format!("({f})"),
            None => "true".into(),
        };
        let src = match &source.filter {
            Some(_) => format!("(SELECT * FROM {table} WHERE {filter})"),
            None => table.clone(),
        };
        Names {
            schema: schema.to_string(),
            queue: format!("{qs}.queue"),
            state: format!("{qs}.state"),
            usage: format!("{qs}.usage"),
            meta: format!("{qs}.meta"),
            migrations: format!("{qs}.migrations"),
            qs,
            channel: format!("{schema}_work"),
            table,
            id: quote_ident(&source.id_column),
            emb: quote_ident(&source.embedding_column),
            render,
            filter,
            src,
        }
    }

    /// Source rows (alias `s`, state `st`) that need work; `$model` is the model id param.
    fn needs_work(&self, model: &str) -> String {
        format!(
            "(s.{emb} IS NULL OR st.row_id IS NULL OR st.text_hash <> md5({render}) OR st.model <> {model})",
            emb = self.emb,
            render = self.render,
        )
    }
}

// ----------------------------------------------------------------------------------------
// Errors

/// The full text of a tokio-postgres error (its `Display` alone says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut out = db.message().to_string();
        if let Some(d) = db.detail() {
            out.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            out.push_str(&format!(" (hint: {h})"));
        }
        return out;
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

/// A PostgreSQL error with its full message; kept as the error's type so callers can
/// tell a lost connection from a failed statement.
#[derive(Debug)]
struct PgError(tokio_postgres::Error);

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl std::error::Error for PgError {}

trait PgResultExt<T> {
    fn pg(self) -> Result<T>;
}

impl<T> PgResultExt<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(|e| anyhow::Error::new(PgError(e)))
    }
}

/// Connection errors that no amount of retrying fixes (wrong password, unknown database,
/// bad TLS setup).
fn is_permanent_connect_error(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return [
            SqlState::INVALID_PASSWORD,
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            SqlState::INVALID_CATALOG_NAME,
            SqlState::INSUFFICIENT_PRIVILEGE,
        ]
        .contains(code);
    }
    let text = describe(e);
    [
        "invalid connection string",
        "invalid configuration",
        "authentication",
        "certificate",
        "TLS",
    ]
    .iter()
    .any(|t| text.contains(t))
}

// ----------------------------------------------------------------------------------------
// Connection settings and TLS

/// How to connect: tokio-postgres settings plus the TLS connector `sslmode` asks for.
#[derive(Clone)]
struct ConnectSpec {
    pg: tokio_postgres::Config,
    tls: Tls,
    /// The URL with its password hidden, for logs and errors.
    redacted: String,
}

#[derive(Clone)]
enum Tls {
    None,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl ConnectSpec {
    /// Parses a `postgres://` URL. libpq's `sslmode` values are honoured (tokio-postgres
    /// itself knows only disable/prefer/require):
    /// - no `sslmode`: plain TCP to localhost / 127.0.0.1 / ::1 / unix sockets, `prefer`
    ///   elsewhere (libpq's default);
    /// - `prefer`, `require`: TLS without certificate verification, like libpq (unless
    ///   `sslrootcert` is given);
    /// - `verify-ca`, `verify-full`: TLS verified against the Mozilla roots and
    ///   `sslrootcert` (a PEM file), host name included.
    fn parse(url: &str) -> Result<ConnectSpec> {
        let redacted = redact_url(url);
        let bad = |why: String| config_error!("database_url: {why} ({redacted})");
        let mut parsed = url::Url::parse(url).map_err(|e| bad(format!("not a valid URL: {e}")))?;
        let mut sslmode: Option<String> = None;
        let mut rootcert: Option<String> = None;
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter_map(|(k, v)| match k.as_ref() {
                "sslmode" => {
                    sslmode = Some(v.into_owned());
                    None
                }
                "sslrootcert" => {
                    rootcert = Some(v.into_owned());
                    None
                }
                _ => Some((k.into_owned(), v.into_owned())),
            })
            .collect();
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        let mut pg: tokio_postgres::Config = parsed
            .as_str()
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(describe(&e)))?;
        if pg.get_application_name().is_none() {
            pg.application_name("vecsync");
        }
        pg.connect_timeout(Duration::from_secs(10));
        pg.keepalives(true);
        let local = pg.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => {
                matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        });
        use tokio_postgres::config::SslMode;
        let (mode, verify) = match sslmode.as_deref() {
            None if local => (SslMode::Disable, false),
            None | Some("prefer") | Some("allow") => (SslMode::Prefer, rootcert.is_some()),
            Some("disable") => (SslMode::Disable, false),
            Some("require") => (SslMode::Require, rootcert.is_some()),
            Some("verify-ca") | Some("verify-full") => (SslMode::Require, true),
            Some(other) => {
                return Err(bad(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                )))
            }
        };
        pg.ssl_mode(mode);
        let tls = match mode {
            SslMode::Disable => Tls::None,
            _ => Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(
                rustls_config(verify, rootcert.as_deref()).map_err(|e| bad(format!("{e:#}")))?,
            )),
        };
        Ok(ConnectSpec { pg, tls, redacted })
    }

    /// Opens a connection; its driver task runs on the runtime and forwards notifications
    /// to `notify` when given.
    async fn open(
        &self,
        notify: Option<Arc<watch::Sender<u64>>>,
    ) -> std::result::Result<Client, tokio_postgres::Error> {
        match &self.tls {
            Tls::None => {
                let (client, conn) = self.pg.connect(NoTls).await?;
                drive(conn, notify);
                Ok(client)
            }
            Tls::Rustls(make) => {
                let (client, conn) = self.pg.connect(make.clone()).await?;
                drive(conn, notify);
                Ok(client)
            }
        }
    }
}

/// Runs a connection's I/O until it closes, forwarding `NOTIFY`s.
fn drive<T>(mut conn: Connection<Socket, T>, notify: Option<Arc<watch::Sender<u64>>>)
where
    T: TlsStream + AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if let Some(tx) = &notify {
                        tx.send_modify(|n| *n = n.wrapping_add(1));
                    }
                }
                Ok(AsyncMessage::Notice(n)) => {
                    tracing::debug!("postgres notice: {}", n.message());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("postgres connection ended: {}", describe(&e));
                    break;
                }
            }
        }
    });
}

fn rustls_config(verify: bool, rootcert: Option<&str>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup")?;
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = rootcert {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .with_context(|| format!("sslrootcert: cannot read {path}"))?;
            for cert in certs {
                let cert = cert.with_context(|| format!("sslrootcert: bad PEM in {path}"))?;
                roots
                    .add(cert)
                    .with_context(|| format!("sslrootcert: bad certificate in {path}"))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(provider)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// libpq's `sslmode=require`: encrypt, but do not check who is at the other end.
#[derive(Debug)]
struct NoCertificateCheck(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

// ----------------------------------------------------------------------------------------
// Pool

/// A pooled connection with its prepared statements (so a statement costs one round trip
/// after its first use on that connection).
struct Conn {
    client: Client,
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

    /// A statement on vecsync's tables before `init` becomes a one-line setup error.
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
            anyhow::Error::new(PgError(e))
        }
    }

    async fn prepare(&mut self, sql: &str) -> Result<Statement> {
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

    async fn query(
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

    async fn query_one(
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

    async fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.prepare(sql).await?;
        self.client
            .execute(&s, params)
            .await
            .map_err(|e| self.explain(e))
    }
}

struct Pool {
    spec: ConnectSpec,
    schema: Arc<str>,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    /// Set while connections are being lost/replaced, so recovery is logged once.
    degraded: AtomicBool,
}

struct PooledConn<'a> {
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
    fn new(spec: ConnectSpec, schema: &str) -> Pool {
        Pool {
            spec,
            schema: schema.into(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_SIZE),
            degraded: AtomicBool::new(false),
        }
    }

    async fn get(&self) -> Result<PooledConn<'_>> {
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

    async fn connect_with_backoff(&self, budget: Duration) -> Result<Client> {
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

    /// Forgets idle connections (their prepared statements may name dropped objects).
    fn reset(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The `LISTEN` connection of [`Store::wait_for_work`]: its driver bumps `notified` on
/// every notification, which wakes every waiting worker at once.
struct Listener {
    client: Client,
    notified: Arc<watch::Sender<u64>>,
}

/// A vector parameter borrowed from a [`Completion`] (pgvector's binary format), so a
/// batch of 1536-d vectors is not copied before it is sent.
#[derive(Debug)]
struct VecParam<'a>(&'a [f32]);

impl ToSql for VecParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        w: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        w.put_u16(u16::try_from(self.0.len())?);
        w.put_u16(0);
        for v in self.0 {
            w.put_f32(*v);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "vector"
    }

    to_sql_checked!();
}

// ----------------------------------------------------------------------------------------
// The store

/// A column of the source table, from the catalog.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    /// `format_type(atttypid, atttypmod)`: `bigint`, `vector(384)`, `character varying(64)`.
    display_type: String,
    /// `pg_type.typname`: `int8`, `vector`.
    typname: String,
    typmod: i32,
    /// `format_type(atttypid, NULL)`: the name to cast to (qualified when not on the path).
    cast_type: String,
}

impl PostgresStore {
    /// Connects to `url` (checking the URL and the password at once). `schema` holds
    /// vecsync's objects; it must be vecsync's own.
    pub async fn connect(
        url: &str,
        schema: &str,
        source: &SourceConfig,
        options: StoreOptions,
    ) -> Result<PostgresStore> {
        crate::config::validate_identifier("schema", schema)?;
        let lower = schema.to_ascii_lowercase();
        if lower == "public" || lower == "information_schema" || lower.starts_with("pg_") {
            return Err(config_error!(
                "schema: {schema:?} is not vecsync's own schema; `vecsync uninstall` drops the whole schema, so choose a dedicated one (e.g. \"vecsync\")"
            ));
        }
        if let Some((table_schema, _)) = source.table.split_once('.') {
            if table_schema == schema {
                return Err(config_error!(
                    "schema: {schema:?} is the schema of source.table {:?}; vecsync needs a schema of its own",
                    source.table
                ));
            }
        }
        let template =
            Template::parse(&source.template).map_err(|e| config_error!("source.template: {e}"))?;
        if source.filter.as_deref().is_some_and(|f| f.contains(FN_TAG)) {
            return Err(config_error!("source.filter: must not contain {FN_TAG}"));
        }
        let spec = ConnectSpec::parse(url)?;
        let pool = Pool::new(spec, schema);
        let client = pool
            .connect_with_backoff(Duration::from_secs(3))
            .await
            .map_err(|e| config_error!("database_url: {e:#}"))?;
        pool.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Conn::new(client, pool.schema.clone()));
        Ok(PostgresStore {
            pool,
            listener: tokio::sync::Mutex::new(None),
            seen: std::sync::atomic::AtomicU64::new(0),
            names: Names::new(schema, source, &template),
            source: source.clone(),
            options,
            template,
            shape: OnceCell::new(),
        })
    }

    /// The source table's oid and columns; a one-line error when the table is missing.
    async fn inspect(&self, c: &mut Conn) -> Result<(u32, Vec<Column>)> {
        let table = &self.source.table;
        let row = c
            .query(
                "SELECT c.oid, c.relkind::text, n.nspname::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = to_regclass($1::text)",
                &[&self.names.table],
            )
            .await?;
        let Some(row) = row.first() else {
            return Err(config_error!(
                "source.table: table {table:?} does not exist in this database"
            ));
        };
        let oid: u32 = row.get(0);
        let kind: String = row.get(1);
        let namespace: String = row.get(2);
        if namespace == self.names.schema {
            // E.g. a role named like the schema: "$user" on the search_path finds it first.
            return Err(config_error!(
                "source.table: {table:?} resolves to a table in vecsync's own schema {namespace:?}; write it with its schema, e.g. \"public.{table}\""
            ));
        }
        if kind != "r" && kind != "p" {
            return Err(config_error!(
                "source.table: {table:?} is not a table (vecsync needs a table it can add triggers to)"
            ));
        }
        let rows = c
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text,
                        a.atttypmod, format_type(a.atttypid, NULL)
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&oid],
            )
            .await?;
        let cols = rows
            .iter()
            .map(|r| Column {
                name: r.get(0),
                display_type: r.get(1),
                typname: r.get(2),
                typmod: r.get(3),
                cast_type: r.get(4),
            })
            .collect();
        Ok((oid, cols))
    }

    /// A one-line error for a column the config names but the table lacks.
    fn missing_column(&self, setting: &str, column: &str, cols: &[Column]) -> anyhow::Error {
        let hint = cols
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(column))
            .map(|c| format!(" (did you mean {:?}? names are case-sensitive)", c.name))
            .unwrap_or_default();
        config_error!(
            "{setting}: column {column:?} does not exist in table {:?}{hint}",
            self.source.table
        )
    }

    fn shape_of(&self, oid: u32, cols: &[Column]) -> Result<Shape> {
        let find = |name: &str| cols.iter().find(|c| c.name == name);
        let id = find(&self.source.id_column)
            .ok_or_else(|| self.missing_column("source.id_column", &self.source.id_column, cols))?;
        let emb = find(&self.source.embedding_column).ok_or_else(|| {
            self.missing_column(
                "source.embedding_column",
                &self.source.embedding_column,
                cols,
            )
        })?;
        if emb.typname != "vector" {
            return Err(config_error!(
                "source.embedding_column: column {:?} of table {:?} is {}, not a pgvector vector column",
                emb.name,
                self.source.table,
                emb.display_type
            ));
        }
        Ok(Shape {
            oid,
            id_type: id.display_type.clone(),
            vec_type: emb.cast_type.clone(),
            watched: cols
                .iter()
                .filter(|c| c.name != emb.name)
                .map(|c| c.name.clone())
                .collect(),
        })
    }

    /// The id column must identify rows: the triggers and the queue rely on it.
    async fn check_unique_id(&self, c: &mut Conn, oid: u32) -> Result<()> {
        let unique: bool = c
            .query_one(
                "SELECT EXISTS (
                    SELECT 1 FROM pg_index i JOIN pg_attribute a
                      ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL
                      AND i.indnkeyatts = 1 AND a.attname = $2::text)",
                &[&oid, &self.source.id_column],
            )
            .await?
            .get(0);
        if unique {
            Ok(())
        } else {
            Err(config_error!(
                "source.id_column: column {:?} of table {:?} is not unique; it needs a PRIMARY KEY or UNIQUE constraint",
                self.source.id_column,
                self.source.table
            ))
        }
    }

    async fn shape(&self) -> Result<&Shape> {
        self.shape
            .get_or_try_init(|| async {
                let mut c = self.pool.get().await?;
                let (oid, cols) = self.inspect(&mut c).await?;
                self.shape_of(oid, &cols)
            })
            .await
    }

    fn trigger_name(&self, op: &str) -> String {
        let schema = &self.names.schema;
        quote_ident(&format!("{}_{op}", &schema[..schema.len().min(50)]))
    }

    /// Versioned migrations: (version, SQL). Applied in order, once, by `init`.
    fn migrations(&self, shape: &Shape) -> Vec<(i32, String)> {
        let n = &self.names;
        let id_type = &shape.id_type;
        vec![
            (
                1,
                format!(
                    "CREATE TABLE {queue} (
                    row_id {id_type} PRIMARY KEY,
                    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
                    enqueued_at timestamptz NOT NULL DEFAULT now(),
                    locked_until timestamptz,
                    attempts int NOT NULL DEFAULT 0,
                    last_error text,
                    failed_at timestamptz
                 );
                 CREATE INDEX queue_pending_idx ON {queue} (enqueued_at) WHERE status = 'pending';
                 CREATE INDEX queue_failed_idx ON {queue} (failed_at) WHERE status = 'failed';
                 CREATE TABLE {state} (
                    row_id {id_type} PRIMARY KEY,
                    text_hash text NOT NULL,
                    model text NOT NULL,
                    embedded_at timestamptz NOT NULL DEFAULT now()
                 );
                 CREATE INDEX state_embedded_at_idx ON {state} (embedded_at);
                 CREATE TABLE {meta} (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    source_table text NOT NULL,
                    source_oid oid NOT NULL,
                    id_column text NOT NULL,
                    embedding_column text NOT NULL,
                    template text NOT NULL,
                    filter text,
                    triggers_hash text NOT NULL,
                    installed_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                 );",
                    queue = n.queue,
                    state = n.state,
                    meta = n.meta,
                ),
            ),
            (
                2,
                format!(
                    "CREATE TABLE {usage} (
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    model text NOT NULL,
                    requests bigint NOT NULL,
                    tokens bigint NOT NULL,
                    cost double precision NOT NULL
                 );",
                    usage = n.usage,
                ),
            ),
        ]
    }

    /// The trigger functions and triggers for the current config and table shape.
    ///
    /// - INSERT (per statement, over the inserted rows): queue rows that pass the filter.
    /// - UPDATE (per row, only when a column other than the embedding is in the SET list):
    ///   queue the row when a template column really changed (`IS DISTINCT FROM`) or the
    ///   row started to pass the filter; a row that stopped passing leaves the queue; an
    ///   id change forgets the old id.
    /// - DELETE (per statement) and TRUNCATE: forget queue and state rows.
    fn trigger_ddl(&self, shape: &Shape) -> String {
        let n = &self.names;
        let (qs, queue, state, id) = (&n.qs, &n.queue, &n.state, &n.id);
        let table = &n.table;
        // The filter sees the row under the table's own name, so `is_active` and
        // `jobs.is_active` both work.
        let alias = quote_ident(self.source.table.rsplit('.').next().unwrap_or_default());
        let chan = sql_string_literal(&n.channel);
        let requeue = "status = 'pending', enqueued_at = now(), attempts = 0, \
                       last_error = NULL, locked_until = NULL, failed_at = NULL";
        let passes = |rec: &str| {
            format!(
                "EXISTS (SELECT 1 FROM (SELECT {rec}.*) AS {alias} WHERE {})",
                n.filter
            )
        };
        let changed = self
            .template
            .columns()
            .iter()
            .map(|c| format!("OLD.{c} IS DISTINCT FROM NEW.{c}", c = quote_ident(c)))
            .collect::<Vec<_>>()
            .join(" OR ");
        let (unchanged_text, gate) = match &self.source.filter {
            Some(_) => (
                format!(
                    "IF {old} = {new} THEN\n      RETURN NULL;\n    END IF;",
                    old = passes("OLD"),
                    new = passes("NEW")
                ),
                format!(
                    "IF NOT {new} THEN\n    DELETE FROM {queue} WHERE row_id = NEW.{id};\n    RETURN NULL;\n  END IF;",
                    new = passes("NEW")
                ),
            ),
            None => ("RETURN NULL;".to_string(), String::new()),
        };
        let watched = shape
            .watched
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let (t_ins, t_upd, t_del, t_trunc) = (
            self.trigger_name("insert"),
            self.trigger_name("update"),
            self.trigger_name("delete"),
            self.trigger_name("truncate"),
        );
        format!(
            "CREATE OR REPLACE FUNCTION {qs}.on_insert() RETURNS trigger LANGUAGE plpgsql AS {FN_TAG}
BEGIN
  INSERT INTO {queue} AS q (row_id)
  SELECT {alias}.{id} FROM vecsync_new AS {alias}
  WHERE {alias}.{id} IS NOT NULL AND {filter}
  ON CONFLICT (row_id) DO UPDATE SET {requeue};
  IF FOUND THEN
    PERFORM pg_notify({chan}, '');
  END IF;
  RETURN NULL;
END
{FN_TAG};
CREATE OR REPLACE FUNCTION {qs}.on_update() RETURNS trigger LANGUAGE plpgsql AS {FN_TAG}
BEGIN
  IF OLD.{id} IS DISTINCT FROM NEW.{id} THEN
    DELETE FROM {queue} WHERE row_id = OLD.{id};
    DELETE FROM {state} WHERE row_id = OLD.{id};
  ELSIF NOT ({changed}) THEN
    {unchanged_text}
  END IF;
  IF NEW.{id} IS NULL THEN
    RETURN NULL;
  END IF;
  {gate}
  INSERT INTO {queue} AS q (row_id) VALUES (NEW.{id})
  ON CONFLICT (row_id) DO UPDATE SET {requeue};
  PERFORM pg_notify({chan}, '');
  RETURN NULL;
END
{FN_TAG};
CREATE OR REPLACE FUNCTION {qs}.on_delete() RETURNS trigger LANGUAGE plpgsql AS {FN_TAG}
BEGIN
  DELETE FROM {queue} q USING vecsync_old o WHERE q.row_id = o.{id};
  DELETE FROM {state} st USING vecsync_old o WHERE st.row_id = o.{id};
  RETURN NULL;
END
{FN_TAG};
CREATE OR REPLACE FUNCTION {qs}.on_truncate() RETURNS trigger LANGUAGE plpgsql AS {FN_TAG}
BEGIN
  DELETE FROM {queue};
  DELETE FROM {state};
  RETURN NULL;
END
{FN_TAG};
DROP TRIGGER IF EXISTS {t_ins} ON {table};
CREATE TRIGGER {t_ins} AFTER INSERT ON {table} REFERENCING NEW TABLE AS vecsync_new
  FOR EACH STATEMENT EXECUTE FUNCTION {qs}.on_insert();
DROP TRIGGER IF EXISTS {t_upd} ON {table};
CREATE TRIGGER {t_upd} AFTER UPDATE OF {watched} ON {table}
  FOR EACH ROW EXECUTE FUNCTION {qs}.on_update();
DROP TRIGGER IF EXISTS {t_del} ON {table};
CREATE TRIGGER {t_del} AFTER DELETE ON {table} REFERENCING OLD TABLE AS vecsync_old
  FOR EACH STATEMENT EXECUTE FUNCTION {qs}.on_delete();
DROP TRIGGER IF EXISTS {t_trunc} ON {table};
CREATE TRIGGER {t_trunc} AFTER TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION {qs}.on_truncate();
",
            filter = n.filter,
        )
    }

    /// The first object in our schema that vecsync did not create, if any.
    const FOREIGN_OBJECT_SQL: &'static str = "SELECT coalesce(
        (SELECT format('relation %I', c.relname) FROM pg_class c
           JOIN pg_namespace ns ON ns.oid = c.relnamespace
          WHERE ns.nspname = $1::text AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            AND c.relname NOT IN ('queue', 'state', 'meta', 'migrations', 'usage')
          LIMIT 1),
        (SELECT format('function %I', p.proname) FROM pg_proc p
           JOIN pg_namespace ns ON ns.oid = p.pronamespace
          WHERE ns.nspname = $1::text
            AND p.proname NOT IN ('on_insert', 'on_update', 'on_delete', 'on_truncate')
          LIMIT 1))";

    /// Builds an HNSW index (cosine) on the embedding column without blocking writes
    /// (`CREATE INDEX CONCURRENTLY`); an invalid index left by an interrupted build is
    /// dropped and rebuilt. Large tables build much faster with a bigger
    /// `maintenance_work_mem` (set it for the role or the database).
    pub async fn create_hnsw_index(&self) -> Result<()> {
        let shape = self.shape().await?.clone();
        let mut c = self.pool.get().await?;
        let table_name = self.source.table.rsplit('.').next().unwrap_or_default();
        let raw = format!("{table_name}_{}_hnsw", self.source.embedding_column);
        let name = &raw[..raw.len().min(63)];
        let invalid = c
            .query(
                "SELECT i.indexrelid::regclass::text FROM pg_index i
                 JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = $1 AND ic.relname = $2::text AND NOT i.indisvalid",
                &[&shape.oid, &name],
            )
            .await?;
        if let Some(row) = invalid.first() {
            let qualified: String = row.get(0);
            tracing::warn!("dropping the invalid index {qualified} left by an interrupted build");
            c.client
                .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {qualified}"))
                .await
                .pg()?;
        }
        c.client
            .batch_execute(&format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING hnsw ({} vector_cosine_ops)",
                quote_ident(name),
                self.names.table,
                self.names.emb
            ))
            .await
            .pg()?;
        Ok(())
    }

    async fn notify(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        c.execute("SELECT pg_notify($1, '')", &[&self.names.channel])
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn init(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        let (oid, cols) = self.inspect(&mut c).await?;
        let shape = self.shape_of(oid, &cols)?;
        self.check_unique_id(&mut c, oid).await?;
        let n = &self.names;
        let tx = c.client.transaction().await.pg()?;
        // Concurrent inits (several workers starting at once) take turns.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1::text))",
            &[&format!("vecsync:{}", n.schema)],
        )
        .await
        .pg()?;
        let foreign: Option<String> = tx
            .query_one(Self::FOREIGN_OBJECT_SQL, &[&n.schema])
            .await
            .pg()?
            .get(0);
        if let Some(object) = foreign {
            return Err(config_error!(
                "schema: {:?} already holds {object}, which vecsync did not create; choose a schema of vecsync's own",
                n.schema
            ));
        }
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {qs};
             CREATE TABLE IF NOT EXISTS {migrations} (
                version int PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
             );",
            qs = n.qs,
            migrations = n.migrations
        ))
        .await
        .pg()?;
        let current: i32 = tx
            .query_one(
                &format!("SELECT coalesce(max(version), 0) FROM {}", n.migrations),
                &[],
            )
            .await
            .pg()?
            .get(0);
        if current > SCHEMA_VERSION {
            return Err(config_error!(
                "schema: {:?} was set up by a newer vecsync (version {current}, this one knows {SCHEMA_VERSION}); upgrade vecsync",
                n.schema
            ));
        }
        for (version, sql) in self.migrations(&shape) {
            if version > current {
                tx.batch_execute(&sql).await.pg()?;
                tx.execute(
                    &format!("INSERT INTO {} (version) VALUES ($1)", n.migrations),
                    &[&version],
                )
                .await
                .pg()?;
            }
        }
        let meta = tx
            .query(
                &format!(
                    "SELECT source_table, source_oid, triggers_hash FROM {}",
                    n.meta
                ),
                &[],
            )
            .await
            .pg()?;
        let ddl = self.trigger_ddl(&shape);
        let hash = crate::template::text_hash(&ddl);
        let mut up_to_date = false;
        if let Some(row) = meta.first() {
            let (table, old_oid, old_hash): (String, u32, String) =
                (row.get(0), row.get(1), row.get(2));
            if old_oid != oid && table != self.source.table {
                return Err(config_error!(
                    "schema: {:?} is installed for table {table:?}, not {:?}; run `vecsync uninstall` with the settings it was installed with, or choose another schema",
                    n.schema,
                    self.source.table
                ));
            }
            up_to_date = old_oid == oid && old_hash == hash;
        }
        let installed: i64 = tx
            .query_one(
                "SELECT count(*) FROM pg_trigger t
                 JOIN pg_proc p ON p.oid = t.tgfoid
                 JOIN pg_namespace ns ON ns.oid = p.pronamespace
                 WHERE t.tgrelid = $1 AND ns.nspname = $2::text",
                &[&oid, &n.schema],
            )
            .await
            .pg()?
            .get(0);
        if !up_to_date || installed != 4 {
            tracing::info!("installing vecsync triggers on {}", self.source.table);
            tx.batch_execute(&ddl).await.pg()?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {} (source_table, source_oid, id_column, embedding_column, template, filter, triggers_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (singleton) DO UPDATE SET source_table = EXCLUDED.source_table,
                    source_oid = EXCLUDED.source_oid, id_column = EXCLUDED.id_column,
                    embedding_column = EXCLUDED.embedding_column, template = EXCLUDED.template,
                    filter = EXCLUDED.filter, triggers_hash = EXCLUDED.triggers_hash, updated_at = now()",
                n.meta
            ),
            &[
                &self.source.table,
                &oid,
                &self.source.id_column,
                &self.source.embedding_column,
                &self.source.template,
                &self.source.filter,
                &hash,
            ],
        )
        .await
        .pg()?;
        tx.commit().await.pg()?;
        Ok(())
    }

    async fn uninstall(&self) -> Result<()> {
        let n = &self.names;
        {
            let mut c = self.pool.get().await?;
            let tx = c.client.transaction().await.pg()?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1::text))",
                &[&format!("vecsync:{}", n.schema)],
            )
            .await
            .pg()?;
            let exists: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text)",
                    &[&n.schema],
                )
                .await
                .pg()?
                .get(0);
            if !exists {
                return Ok(());
            }
            let ours: bool = tx
                .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&n.migrations])
                .await
                .pg()?
                .get(0);
            let foreign: Option<String> = tx
                .query_one(Self::FOREIGN_OBJECT_SQL, &[&n.schema])
                .await
                .pg()?
                .get(0);
            if !ours || foreign.is_some() {
                return Err(config_error!(
                    "schema: {:?} holds {}, which vecsync did not create; not dropping it",
                    n.schema,
                    foreign.unwrap_or_else(|| "objects".into())
                ));
            }
            let triggers = tx
                .query(
                    "SELECT t.tgname::text, t.tgrelid::regclass::text FROM pg_trigger t
                     JOIN pg_proc p ON p.oid = t.tgfoid
                     JOIN pg_namespace ns ON ns.oid = p.pronamespace
                     WHERE ns.nspname = $1::text AND NOT t.tgisinternal",
                    &[&n.schema],
                )
                .await
                .pg()?;
            for t in &triggers {
                let (name, table): (String, String) = (t.get(0), t.get(1));
                tx.batch_execute(&format!(
                    "DROP TRIGGER IF EXISTS {} ON {table}",
                    quote_ident(&name)
                ))
                .await
                .pg()?;
            }
            tx.batch_execute(&format!("DROP SCHEMA {} CASCADE", n.qs))
                .await
                .pg()?;
            tx.commit().await.pg()?;
        }
        self.pool.reset();
        *self.listener.lock().await = None;
        Ok(())
    }

    async fn prepare(&self, dimensions: usize) -> Result<()> {
        {
            let mut c = self.pool.get().await?;
            let has_vector: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')",
                    &[],
                )
                .await?
                .get(0);
            if !has_vector {
                return Err(config_error!(
                    "pgvector is not installed in this database: CREATE EXTENSION vector"
                ));
            }
            let (oid, cols) = self.inspect(&mut c).await?;
            let find = |name: &str| cols.iter().find(|c| c.name == name);
            let mut wanted: Vec<(&str, &str)> = vec![
                ("source.id_column", self.source.id_column.as_str()),
                (
                    "source.embedding_column",
                    self.source.embedding_column.as_str(),
                ),
            ];
            wanted.extend(
                self.template
                    .columns()
                    .into_iter()
                    .map(|c| ("source.template", c)),
            );
            wanted.extend(
                self.source
                    .display_columns
                    .iter()
                    .map(|c| ("source.display_columns", c.as_str())),
            );
            for (setting, column) in wanted {
                if find(column).is_none() {
                    return Err(self.missing_column(setting, column, &cols));
                }
            }
            self.shape_of(oid, &cols)?;
            let emb = find(&self.source.embedding_column).expect("checked above");
            if emb.typmod > 0 && emb.typmod as usize != dimensions {
                return Err(config_error!(
                    "source.embedding_column: column {:?} of table {:?} is vector({}) but the model makes {dimensions} dimensions",
                    emb.name,
                    self.source.table,
                    emb.typmod
                ));
            }
            self.check_unique_id(&mut c, oid).await?;
            if let Some(filter) = &self.source.filter {
                let probe = format!(
                    "SELECT 1 FROM {} WHERE {} LIMIT 0",
                    self.names.table, self.names.filter
                );
                if let Err(e) = c.client.batch_execute(&probe).await {
                    return Err(config_error!(
                        "source.filter: {filter:?} does not work on table {:?}: {}",
                        self.source.table,
                        describe(&e)
                    ));
                }
            }
        }
        self.init().await
    }

    async fn enqueue_needed(&self) -> Result<u64> {
        let shape = self.shape().await?;
        let n = &self.names;
        let chunk = |lower: bool| {
            let after = if lower {
                format!("WHERE {id} > $2::text::{ty}", id = n.id, ty = shape.id_type)
            } else {
                String::new()
            };
            let lo = if lower {
                format!("s.{id} > $2::text::{ty} AND", id = n.id, ty = shape.id_type)
            } else {
                String::new()
            };
            format!(
                "WITH bound AS (
                    SELECT max(x.id) AS hi FROM (
                        SELECT {id} AS id FROM {table} {after} ORDER BY {id} LIMIT {ENQUEUE_CHUNK}
                    ) x
                 ), ins AS (
                    INSERT INTO {queue} (row_id)
                    SELECT s.{id} FROM {src} AS s LEFT JOIN {state} st ON st.row_id = s.{id}
                    WHERE {lo} s.{id} <= (SELECT hi FROM bound) AND {needs_work}
                    ON CONFLICT (row_id) DO NOTHING
                    RETURNING 1
                 )
                 SELECT (SELECT hi::text FROM bound), (SELECT count(*) FROM ins)",
                id = n.id,
                table = n.table,
                queue = n.queue,
                state = n.state,
                src = n.src,
                needs_work = n.needs_work("$1"),
            )
        };
        let (first, next) = (chunk(false), chunk(true));
        let mut c = self.pool.get().await?;
        let mut after: Option<String> = None;
        let mut added = 0u64;
        loop {
            let row = match &after {
                None => c.query_one(&first, &[&self.options.model_id]).await?,
                Some(a) => c.query_one(&next, &[&self.options.model_id, a]).await?,
            };
            let hi: Option<String> = row.get(0);
            added += row.get::<_, i64>(1) as u64;
            match hi {
                Some(hi) => after = Some(hi),
                None => break,
            }
        }
        drop(c);
        if added > 0 {
            self.notify().await?;
        }
        Ok(added)
    }

    async fn peek_needed(&self, after: Option<&RowId>, limit: usize) -> Result<Vec<ClaimedRow>> {
        let shape = self.shape().await?;
        let n = &self.names;
        let lower = match after {
            Some(_) => format!("AND s.{} > $3::text::{}", n.id, shape.id_type),
            None => String::new(),
        };
        let sql = format!(
            "SELECT s.{id}::text, {render} FROM {src} AS s
             LEFT JOIN {state} st ON st.row_id = s.{id}
             WHERE {needs_work} {lower}
             ORDER BY s.{id} LIMIT $2",
            id = n.id,
            render = n.render,
            src = n.src,
            state = n.state,
            needs_work = n.needs_work("$1"),
        );
        let limit = limit.min(i64::MAX as usize) as i64;
        let mut c = self.pool.get().await?;
        let rows = match after {
            Some(a) => c.query(&sql, &[&self.options.model_id, &limit, a]).await?,
            None => c.query(&sql, &[&self.options.model_id, &limit]).await?,
        };
        Ok(rows
            .iter()
            .map(|r| ClaimedRow {
                id: r.get(0),
                text: r.get(1),
            })
            .collect())
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<ClaimedRow>> {
        let n = &self.names;
        // One statement (one short transaction): lock the oldest claimable rows, skipping
        // rows other workers are claiming; forget rows that were deleted or no longer pass
        // the filter; lease the rest and render their text.
        let sql = format!(
            "WITH pick AS (
                SELECT row_id FROM {queue}
                WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < now())
                ORDER BY enqueued_at LIMIT $1
                FOR UPDATE SKIP LOCKED
             ), j AS (
                SELECT p.row_id, s.{id} IS NOT NULL AS present, {render} AS text
                FROM pick p LEFT JOIN {src} AS s ON s.{id} = p.row_id
             ), gone AS (
                DELETE FROM {queue} WHERE row_id = ANY(ARRAY(SELECT row_id FROM j WHERE NOT present))
             ), claimed AS (
                UPDATE {queue} SET locked_until = now() + make_interval(secs => $2),
                                   attempts = attempts + 1
                WHERE row_id = ANY(ARRAY(SELECT row_id FROM j WHERE present))
                RETURNING row_id
             )
             SELECT c.row_id::text, j.text FROM claimed c JOIN j ON j.row_id = c.row_id",
            queue = n.queue,
            id = n.id,
            render = n.render,
            src = n.src,
        );
        let mut c = self.pool.get().await?;
        let rows = c
            .query(
                &sql,
                &[&(limit.min(i64::MAX as usize) as i64), &lease.as_secs_f64()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ClaimedRow {
                id: r.get(0),
                text: r.get(1),
            })
            .collect())
    }

    async fn complete(&self, done: &[Completion], failed: &[Failure]) -> Result<WriteOutcome> {
        if done.is_empty() && failed.is_empty() {
            return Ok(WriteOutcome::default());
        }
        let shape = self.shape().await?;
        let n = &self.names;
        let (ty, vt) = (&shape.id_type, &shape.vec_type);
        // One statement: the guarded write (only rows whose current text still hashes to
        // what was embedded), state for exactly the written rows, their queue rows gone;
        // rows whose text changed are requeued for the new text, deleted rows forgotten;
        // failures counted. Only rows still claimed (pending, leased) count: a report for
        // a row requeued by a trigger since the claim, done, failed or forgotten is ignored.
        let sql = format!(
            "WITH u AS (
                SELECT x.id::{ty} AS id, x.vec, x.hash
                FROM unnest($1::text[], $2::{vt}[], $3::text[]) AS x(id, vec, hash)
                JOIN {queue} AS q ON q.row_id = x.id::{ty}
                WHERE q.status = 'pending' AND q.locked_until IS NOT NULL
             ), w AS (
                UPDATE {table} AS s SET {emb} = u.vec FROM u
                WHERE s.{id} = u.id AND md5({render}) = u.hash
                RETURNING s.{id} AS id, u.hash
             ), st AS (
                INSERT INTO {state} (row_id, text_hash, model, embedded_at)
                SELECT id, hash, $4, now() FROM w
                ON CONFLICT (row_id) DO UPDATE SET text_hash = EXCLUDED.text_hash,
                    model = EXCLUDED.model, embedded_at = EXCLUDED.embedded_at
             ), dq AS (
                DELETE FROM {queue} WHERE row_id = ANY(ARRAY(SELECT id FROM w))
             ), missed AS (
                SELECT u.id, EXISTS (SELECT 1 FROM {table} AS s WHERE s.{id} = u.id) AS present
                FROM u WHERE NOT EXISTS (SELECT 1 FROM w WHERE w.id = u.id)
             ), rq AS (
                UPDATE {queue} SET locked_until = NULL, attempts = 0, enqueued_at = now()
                WHERE row_id = ANY(ARRAY(SELECT id FROM missed WHERE present)) AND status = 'pending'
             ), gq AS (
                DELETE FROM {queue} WHERE row_id = ANY(ARRAY(SELECT id FROM missed WHERE NOT present))
             ), gs AS (
                DELETE FROM {state} WHERE row_id = ANY(ARRAY(SELECT id FROM missed WHERE NOT present))
             ), f AS (
                SELECT x.id::{ty} AS id, x.reason, x.permanent
                FROM unnest($5::text[], $6::text[], $7::bool[]) AS x(id, reason, permanent)
             ), fu AS (
                UPDATE {queue} AS q SET
                    status = CASE WHEN f.permanent OR q.attempts >= $8 THEN 'failed' ELSE 'pending' END,
                    failed_at = CASE WHEN f.permanent OR q.attempts >= $8 THEN now() END,
                    locked_until = CASE WHEN f.permanent OR q.attempts >= $8 THEN NULL
                        ELSE now() + make_interval(secs => least(300, $9 * power(2, least(greatest(q.attempts, 1), 10) - 1))) END,
                    last_error = f.reason
                FROM f WHERE q.row_id = f.id AND q.locked_until IS NOT NULL
                RETURNING q.status
             )
             SELECT (SELECT count(*) FROM w), cardinality($1::text[])::bigint,
                    (SELECT count(*) FROM fu WHERE status = 'failed'),
                    (SELECT count(*) FROM fu WHERE status = 'pending')",
            table = n.table,
            emb = n.emb,
            id = n.id,
            render = n.render,
            state = n.state,
            queue = n.queue,
        );
        let ids: Vec<&str> = done.iter().map(|d| d.id.as_str()).collect();
        let vecs: Vec<VecParam<'_>> = done.iter().map(|d| VecParam(&d.vector)).collect();
        let hashes: Vec<&str> = done.iter().map(|d| d.text_hash.as_str()).collect();
        let f_ids: Vec<&str> = failed.iter().map(|f| f.id.as_str()).collect();
        let f_reasons: Vec<&str> = failed.iter().map(|f| f.reason.as_str()).collect();
        let f_permanent: Vec<bool> = failed.iter().map(|f| f.permanent).collect();
        let max_attempts = self.options.max_attempts.min(i32::MAX as u32) as i32;
        let mut c = self.pool.get().await?;
        let row = c
            .query_one(
                &sql,
                &[
                    &ids,
                    &vecs,
                    &hashes,
                    &self.options.model_id,
                    &f_ids,
                    &f_reasons,
                    &f_permanent,
                    &max_attempts,
                    &self.options.retry_backoff_base.as_secs_f64(),
                ],
            )
            .await?;
        let (written, sent, now_failed, retrying): (i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        Ok(WriteOutcome {
            written: written as u64,
            skipped: (sent - written) as u64,
            failed: now_failed as u64,
            retrying: retrying as u64,
        })
    }

    async fn release(&self, ids: &[RowId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let shape = self.shape().await?;
        let sql = format!(
            "UPDATE {} SET locked_until = NULL, attempts = greatest(attempts - 1, 0)
             WHERE row_id = ANY($1::text[]::{}[]) AND status = 'pending'",
            self.names.queue, shape.id_type
        );
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut c = self.pool.get().await?;
        c.execute(&sql, &[&ids]).await?;
        Ok(())
    }

    async fn retry_failed(&self) -> Result<u64> {
        let sql = format!(
            "UPDATE {} SET status = 'pending', attempts = 0, last_error = NULL, failed_at = NULL,
                locked_until = NULL, enqueued_at = now()
             WHERE status = 'failed'",
            self.names.queue
        );
        let n = {
            let mut c = self.pool.get().await?;
            c.execute(&sql, &[]).await?
        };
        if n > 0 {
            self.notify().await?;
        }
        Ok(n)
    }

    async fn record_usage(&self, model: &str, usage: &UsageTotals) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (model, requests, tokens, cost) VALUES ($1, $2, $3, $4)",
            self.names.usage
        );
        let mut c = self.pool.get().await?;
        c.execute(
            &sql,
            &[
                &model,
                &(usage.requests as i64),
                &(usage.tokens as i64),
                &usage.cost,
            ],
        )
        .await?;
        Ok(())
    }

    async fn status(&self) -> Result<Status> {
        let n = &self.names;
        // One pass over the source: each row falls in one category; md5 of the text is
        // computed only for rows that have a vector and state for the current model.
        let categories = format!(
            "SELECT s.{emb} IS NOT NULL AS has_vector,
                    st.row_id IS NOT NULL AS has_state,
                    (s.{emb} IS NOT NULL AND st.row_id IS NOT NULL AND st.model = $1
                        AND st.text_hash = md5({render})) AS current,
                    q.row_id IS NOT NULL AS queued,
                    count(*)
             FROM {src} AS s
             LEFT JOIN {state} st ON st.row_id = s.{id}
             LEFT JOIN {queue} q ON q.row_id = s.{id}
             GROUP BY 1, 2, 3, 4",
            emb = n.emb,
            render = n.render,
            src = n.src,
            state = n.state,
            queue = n.queue,
            id = n.id,
        );
        let queue = format!(
            "SELECT count(*) FILTER (WHERE status = 'pending' AND (locked_until IS NULL OR locked_until < now())),
                    count(*) FILTER (WHERE status = 'pending' AND locked_until >= now()),
                    count(*) FILTER (WHERE status = 'failed')
             FROM {}",
            n.queue
        );
        let failures = format!(
            "SELECT row_id::text, coalesce(last_error, ''), attempts FROM {}
             WHERE status = 'failed' ORDER BY failed_at DESC NULLS LAST LIMIT 20",
            n.queue
        );
        let per_minute = format!(
            "SELECT floor(extract(epoch FROM now() - embedded_at) / 60)::int, count(*) FROM {}
             WHERE embedded_at > now() - interval '10 minutes' GROUP BY 1",
            n.state
        );
        let mut c = self.pool.get().await?;
        let s_categories = c.prepare(&categories).await?;
        let s_queue = c.prepare(&queue).await?;
        let s_failures = c.prepare(&failures).await?;
        let s_per_minute = c.prepare(&per_minute).await?;
        let s_usage = c
            .prepare(&format!(
                "SELECT coalesce(sum(requests), 0)::bigint, coalesce(sum(tokens), 0)::bigint,
                        coalesce(sum(cost), 0)::float8 FROM {}",
                n.usage
            ))
            .await?;
        // One snapshot for all counts; the queries are pipelined.
        let tx = c
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .pg()?;
        let model: [&(dyn ToSql + Sync); 1] = [&self.options.model_id];
        let none: [&(dyn ToSql + Sync); 0] = [];
        let (cat_rows, queue_row, failure_rows, minute_rows, usage_row) = futures::try_join!(
            tx.query(&s_categories, &model),
            tx.query_one(&s_queue, &none),
            tx.query(&s_failures, &none),
            tx.query(&s_per_minute, &none),
            tx.query_one(&s_usage, &none),
        )
        .pg()?;
        tx.commit().await.pg()?;

        let mut st = Status {
            model: self.options.model_id.clone(),
            completions_per_minute: vec![0; 10],
            usage: UsageTotals {
                requests: usage_row.get::<_, i64>(0) as u64,
                tokens: usage_row.get::<_, i64>(1) as u64,
                cost: usage_row.get(2),
            },
            ..Status::default()
        };
        for r in &cat_rows {
            let (has_vector, has_state, current, queued, count): (bool, bool, bool, bool, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let count = count as u64;
            st.total += count;
            if current {
                st.embedded += count;
            } else {
                if !queued {
                    st.drift.unqueued += count;
                }
                if has_vector {
                    st.drift.vector_without_state += count;
                }
            }
            if !has_vector {
                st.missing += count;
                if has_state {
                    st.drift.done_without_vector += count;
                }
            }
        }
        st.queue = QueueCounts {
            pending: queue_row.get::<_, i64>(0) as u64,
            leased: queue_row.get::<_, i64>(1) as u64,
            failed: queue_row.get::<_, i64>(2) as u64,
        };
        st.failed = st.queue.failed;
        st.failures = failure_rows
            .iter()
            .map(|r| FailedRow {
                id: r.get(0),
                reason: r.get(1),
                attempts: r.get::<_, i32>(2).max(0) as u32,
            })
            .collect();
        for r in &minute_rows {
            let (ago, count): (i32, i64) = (r.get(0), r.get(1));
            if (0..10).contains(&ago) {
                st.completions_per_minute[9 - ago as usize] = count as u64;
            }
        }
        st.derive();
        Ok(st)
    }

    async fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>> {
        let shape = self.shape().await?;
        let n = &self.names;
        let fields = self
            .source
            .display_columns
            .iter()
            .map(|c| format!("{}, s.{}", sql_string_literal(c), quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT s.{id}::text, (1 - (s.{emb} <=> $1::{vt}))::float4,
                    jsonb_build_object({fields})::text
             FROM {src} AS s WHERE s.{emb} IS NOT NULL
             ORDER BY s.{emb} <=> $1::{vt} LIMIT $2",
            id = n.id,
            emb = n.emb,
            vt = shape.vec_type,
            src = n.src,
        );
        let mut c = self.pool.get().await?;
        let k = k.min(i64::MAX as usize) as i64;
        let rows = c.query(&sql, &[&VecParam(query), &k]).await?;
        rows.iter()
            .map(|r| {
                let json: String = r.get(2);
                let fields = match serde_json::from_str::<serde_json::Value>(&json)? {
                    serde_json::Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                Ok(SearchHit {
                    id: r.get(0),
                    score: r.get::<_, Option<f32>>(1).unwrap_or(f32::NAN),
                    fields,
                })
            })
            .collect()
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut notified = {
            let mut guard = match tokio::time::timeout_at(deadline, self.listener.lock()).await {
                Ok(g) => g,
                Err(_) => return Ok(()),
            };
            match guard.as_ref() {
                Some(l) if !l.client.is_closed() => l.notified.subscribe(),
                lost => {
                    if lost.is_some() {
                        tracing::warn!(
                            "lost the LISTEN connection to {}; reconnecting",
                            self.pool.spec.redacted
                        );
                    }
                    *guard = None;
                    // Starts at the count already seen: only new notifications wake.
                    let notified = Arc::new(watch::channel(self.seen.load(Ordering::SeqCst)).0);
                    let client =
                        self.pool
                            .spec
                            .open(Some(notified.clone()))
                            .await
                            .map_err(|e| {
                                anyhow::Error::new(PgError(e)).context(format!(
                                    "cannot LISTEN on {}",
                                    self.pool.spec.redacted
                                ))
                            })?;
                    client
                        .batch_execute(&format!("LISTEN {}", quote_ident(&self.names.channel)))
                        .await
                        .pg()?;
                    *guard = Some(Listener { client, notified });
                    // Work queued before LISTEN took effect would go unnoticed: look again.
                    return Ok(());
                }
            }
        };
        // A notification since the last wake-up, or the next one (a burst counts once),
        // or the timeout.
        let current = *notified.borrow_and_update();
        if self.seen.swap(current, Ordering::SeqCst) != current {
            return Ok(());
        }
        if let Ok(Ok(())) = tokio::time::timeout_at(deadline, notified.changed()).await {
            self.seen
                .store(*notified.borrow_and_update(), Ordering::SeqCst);
        }
        Ok(())
    }

    async fn reconcile(&self) -> Result<u64> {
        let n = &self.names;
        let sql = format!(
            "DELETE FROM {state} st WHERE NOT EXISTS (
                SELECT 1 FROM {table} AS s WHERE s.{id} = st.row_id AND s.{emb} IS NOT NULL)",
            state = n.state,
            table = n.table,
            id = n.id,
            emb = n.emb,
        );
        let forgotten = {
            let mut c = self.pool.get().await?;
            c.execute(&sql, &[]).await?
        };
        if forgotten > 0 {
            tracing::info!("reconcile: forgot {forgotten} state rows whose vector is gone");
        }
        self.enqueue_needed().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode;

    fn spec(url: &str) -> ConnectSpec {
        ConnectSpec::parse(url).unwrap_or_else(|e| panic!("{url}: {e:#}"))
    }

    #[test]
    fn sslmode_defaults_and_libpq_values() {
        let local = spec("postgres://u:p@127.0.0.1:5432/db");
        assert_eq!(local.pg.get_ssl_mode(), SslMode::Disable);
        assert!(matches!(local.tls, Tls::None));
        let remote = spec("postgres://u:p@db.example.com:5432/db");
        assert_eq!(remote.pg.get_ssl_mode(), SslMode::Prefer);
        assert!(matches!(remote.tls, Tls::Rustls(_)));
        let req = spec("postgres://u:p@127.0.0.1/db?sslmode=require&application_name=x");
        assert_eq!(req.pg.get_ssl_mode(), SslMode::Require);
        assert_eq!(req.pg.get_application_name(), Some("x"));
        let full = spec("postgresql://u:p@h/db?sslmode=verify-full");
        assert_eq!(full.pg.get_ssl_mode(), SslMode::Require);
        let off = spec("postgres://u:p@h/db?sslmode=disable");
        assert!(matches!(off.tls, Tls::None));
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_password() {
        for url in [
            "postgres://u:s3cret@h/db?sslmode=maybe",
            "postgres://u:s3cret@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
            "postgres://u:s3cret@h/db?bogus_option=1",
        ] {
            let e = ConnectSpec::parse(url).err().expect(url);
            let msg = e
                .downcast_ref::<crate::config::ConfigError>()
                .expect("ConfigError")
                .0
                .clone();
            assert!(msg.starts_with("database_url: "), "{msg}");
            assert!(!msg.contains("s3cret"), "{msg}");
        }
    }

    #[test]
    fn render_is_quoted_and_null_safe() {
        let source = SourceConfig {
            template: "{title} it's {Body}".into(),
            ..SourceConfig::default()
        };
        let t = Template::parse(&source.template).unwrap();
        let n = Names::new("vecsync", &source, &t);
        assert_eq!(
            n.render,
            "(coalesce(s.\"title\"::text, '') || ' it''s ' || coalesce(s.\"Body\"::text, ''))"
        );
        assert_eq!(n.table, "\"jobs\"");
        assert_eq!(n.queue, "\"vecsync\".queue");
    }
}
