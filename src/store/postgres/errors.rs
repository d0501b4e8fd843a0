//! PostgreSQL errors: their full text, and what kind of failure each is — an outage worth
//! retrying, a setup problem, or a statement that fails for good (see [`ErrorKind`]).

use std::fmt;

use anyhow::Result;
use tokio_postgres::error::SqlState;

use crate::store::ErrorKind;

/// The full text of a tokio-postgres error (its `Display` alone says only "db error").
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut out = db.message().to_string();
        // A constraint's detail quotes the whole row ("Failing row contains (…)"): the
        // row's data has no place in logs and status.
        if let Some(d) = db
            .detail()
            .filter(|d| !d.starts_with("Failing row contains"))
        {
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
        // A certificate refused by vecsync's own checks (super::tls) says it all.
        let own = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .and_then(|tls| match tls {
                rustls::Error::Other(other) => Some(other.0.to_string()),
                _ => None,
            });
        out.push_str(&format!(": {}", own.unwrap_or_else(|| s.to_string())));
        source = s.source();
    }
    out
}

/// A PostgreSQL error with its full message and its [`ErrorKind`]; kept as the error's
/// type so that callers can tell an outage from a setup problem
/// ([`crate::store::error_kind`]).
#[derive(Debug)]
pub(super) struct PgError {
    pub(super) error: tokio_postgres::Error,
    pub(super) kind: ErrorKind,
}

impl PgError {
    /// An error from a statement on an open connection.
    pub(super) fn statement(error: tokio_postgres::Error) -> PgError {
        let kind = PgError::statement_kind(&error);
        PgError { error, kind }
    }

    /// The kind of a statement's error.
    pub(super) fn statement_kind(error: &tokio_postgres::Error) -> ErrorKind {
        kind_of(error, ErrorKind::Failed)
    }

    /// An error while connecting: what is neither the network nor the server's own
    /// refusal (authentication, TLS, settings) is a setup problem.
    pub(super) fn connect(error: tokio_postgres::Error) -> PgError {
        let kind = kind_of(&error, ErrorKind::Setup);
        PgError { error, kind }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.error))?;
        let Some(code) = self.error.code() else {
            return Ok(());
        };
        // What to do about it, for the setup problems whose fix is known.
        let advice = match code.code() {
            "42501" => {
                "the role in database_url lacks this privilege: grant it (docs/postgres.md lists what each command needs)"
            }
            c if c.starts_with("28") => "check the user and password in database_url",
            "3D000" => "check the database name in database_url",
            _ if self.kind == ErrorKind::Setup => {
                "an object vecsync needs is missing: create it, fix the setting that names it, or run `vecsync init`"
            }
            _ => return write!(f, " (SQLSTATE {})", code.code()),
        };
        write!(f, " (SQLSTATE {}: {advice})", code.code())
    }
}

impl std::error::Error for PgError {}

pub(super) trait PgResultExt<T> {
    /// The error of a statement, as a [`PgError`].
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
            setting = "source",
            "the table no longer matches the config ({}); application writes go on and rows keep their vectors until the config is fixed and `vecsync init` is run",
            // `s` is the statements' alias of the source table, not a name the user knows.
            describe(&e).replace("column s.", "column ")
        );
    }
    anyhow::Error::new(PgError::statement(e))
}

/// SQLSTATEs (besides classes 08 and 53) that say the database is briefly unavailable, or
/// that the statement lost a race it may win when run again.
const UNAVAILABLE: [SqlState; 9] = [
    SqlState::ADMIN_SHUTDOWN,                   // 57P01: restart, failover
    SqlState::CRASH_SHUTDOWN,                   // 57P02
    SqlState::CANNOT_CONNECT_NOW,               // 57P03: starting up, recovering
    SqlState::IDLE_SESSION_TIMEOUT,             // 57P05
    SqlState::T_R_SERIALIZATION_FAILURE,        // 40001
    SqlState::T_R_DEADLOCK_DETECTED,            // 40P01
    SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN, // 40003
    SqlState::LOCK_NOT_AVAILABLE,               // 55P03: lock_timeout
    SqlState::READ_ONLY_SQL_TRANSACTION,        // 25006: a primary that just became a replica
];

/// SQLSTATEs (besides class 28, a refused login) of a setup problem: a missing privilege or
/// object, a database that does not exist.
const SETUP: [SqlState; 7] = [
    SqlState::INSUFFICIENT_PRIVILEGE, // 42501
    SqlState::UNDEFINED_TABLE,        // 42P01
    SqlState::UNDEFINED_COLUMN,       // 42703
    SqlState::UNDEFINED_FUNCTION,     // 42883
    SqlState::UNDEFINED_OBJECT,       // 42704
    SqlState::INVALID_SCHEMA_NAME,    // 3F000
    SqlState::INVALID_CATALOG_NAME,   // 3D000
];

/// The kind of an error the server reported. Class 08 covers lost connections and
/// pgbouncer's own trouble (e.g. a failing server login, reported as 08P01); class 53 is out
/// of connections, memory or disk, except 53400 (a configured limit, which waiting does
/// not raise). Type, syntax, data and constraint errors fail at once.
fn kind_of_code(code: &SqlState) -> ErrorKind {
    let c = code.code();
    if c.starts_with("08")
        || (c.starts_with("53") && *code != SqlState::CONFIGURATION_LIMIT_EXCEEDED)
        || UNAVAILABLE.contains(code)
    {
        ErrorKind::Unavailable
    } else if c.starts_with("28") || SETUP.contains(code) {
        ErrorKind::Setup
    } else if c.starts_with("23") || *code == SqlState::RAISE_EXCEPTION {
        // integrity_constraint_violation, or a trigger of the application's raising
        ErrorKind::RowRejected
    } else {
        ErrorKind::Failed
    }
}

/// The kind of `e`; `otherwise` for errors that are neither the server's nor the network's
/// (on a statement: a bug, e.g. a value that does not convert; while connecting: settings).
fn kind_of(e: &tokio_postgres::Error, otherwise: ErrorKind) -> ErrorKind {
    if let Some(code) = e.code() {
        return kind_of_code(code);
    }
    if e.is_closed() {
        return ErrorKind::Unavailable;
    }
    // Refused, reset, timed out: an I/O error — unless it carries a failed certificate
    // check, which no retry fixes.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            let tls = io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            return if tls {
                ErrorKind::Setup
            } else {
                ErrorKind::Unavailable
            };
        }
        source = s.source();
    }
    otherwise
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let kind = |c: &str| kind_of_code(&SqlState::from_code(c));
        for c in [
            "57P01", "57P03", "53300", "40001", "40P01", "08006", "08P01",
        ] {
            assert_eq!(kind(c), ErrorKind::Unavailable, "{c}");
        }
        for c in [
            "42501", "42P01", "42703", "42883", "42704", "28P01", "3D000",
        ] {
            assert_eq!(kind(c), ErrorKind::Setup, "{c}");
        }
        for c in ["23505", "23502", "23514", "P0001"] {
            assert_eq!(kind(c), ErrorKind::RowRejected, "{c}");
        }
        for c in ["42601", "42804", "22P02", "XX000", "53400"] {
            assert_eq!(kind(c), ErrorKind::Failed, "{c}");
        }
    }
}
