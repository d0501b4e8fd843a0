//! PostgreSQL errors: their full text, and which connection errors are worth retrying.

use std::fmt;

use anyhow::Result;
use tokio_postgres::error::SqlState;

/// The full text of a tokio-postgres error (its `Display` alone says only "db error").
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
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
pub(super) struct PgError(pub(super) tokio_postgres::Error);

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl std::error::Error for PgError {}

pub(super) trait PgResultExt<T> {
    fn pg(self) -> Result<T>;
}

impl<T> PgResultExt<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(pg_error)
    }
}

/// The error a failed statement becomes. A column that does not exist can only be one the
/// config names (vecsync checks the table against the config before its first statement):
/// the table changed while vecsync was running, a setup problem, not an outage.
pub(super) fn pg_error(e: tokio_postgres::Error) -> anyhow::Error {
    if e.code() == Some(&SqlState::UNDEFINED_COLUMN) {
        return crate::config_error!(
            "source: the table no longer matches the config ({}); application writes go on and rows keep their vectors until the config is fixed and `vecsync init` is run",
            describe(&e)
        );
    }
    anyhow::Error::new(PgError(e))
}

/// Connection errors that no amount of retrying fixes (wrong password, unknown database,
/// bad TLS setup).
pub(super) fn is_permanent_connect_error(e: &tokio_postgres::Error) -> bool {
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
