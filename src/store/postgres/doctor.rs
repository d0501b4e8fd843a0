//! `vecsync doctor` on PostgreSQL: one READ ONLY transaction, rolled back at the end, in
//! which every check reads the catalog (and `has_*_privilege`), so nothing is created or
//! changed whatever the config says (a filter with side effects included). Statements that
//! may fail (the filter probe, the queue) run under a savepoint, so one failure does not
//! hide the other findings.

use std::time::Duration;

use crate::config::quote_ident;

use anyhow::Result;
use tokio_postgres::Row;

use super::catalog::{Column, Table};
use super::connect::ConnectSpec;
use super::errors::describe;
use super::hints::HNSW_MAX_DIMENSIONS;
use super::install::SCHEMA_VERSION;
use super::installed::Installed;
use super::pool::Conn;
use super::privileges::{ident, Command, Who};
use super::row_security::hidden_rows;
use super::PostgresStore;
use crate::config::{Config, ConfigError};
use crate::doctor::{Finding, Level};
use crate::store::StoreOptions;

/// Every check, in the order a user fixes things: connection, pgvector, the table, what
/// is installed, access, the queue.
pub async fn diagnose(url: &str, config: &Config, dims: Option<usize>) -> Vec<Finding> {
    let mut out = Vec::new();
    let spec = match ConnectSpec::parse("database_url", url) {
        Ok(spec) => spec,
        Err(e) => {
            out.push(Finding::fail(
                "database_url",
                format!("{e:#}"),
                "fix the URL (postgres://user:password@host:port/database?sslmode=require)",
            ));
            return out;
        }
    };
    out.push(tls(&spec));
    let store = match PostgresStore::new(
        spec,
        &config.schema,
        &config.source,
        StoreOptions::from_config(config),
    ) {
        Ok(store) => store,
        Err(e) => {
            out.push(Finding::fail(
                "config",
                format!("{e:#}"),
                "fix the setting the message names in vecsync.toml",
            ));
            return out;
        }
    };
    let client = match store
        .pool
        .connect_with_backoff(Duration::from_secs(3))
        .await
    {
        Ok(client) => client,
        Err(e) => {
            out.push(Finding::fail(
                "connection",
                format!("{e:#}"),
                "check the host, port, user, password and database in database_url, and that the server accepts connections from here",
            ));
            return out;
        }
    };
    store.pool.keep(client);
    let result = async {
        let mut c = store.pool.get().await?;
        // Everything below reads; READ ONLY makes sure of it (the filter is the user's SQL).
        c.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| anyhow::anyhow!(describe(&e)))?;
        let checked = checks(&store, &mut c, dims, config.worker.poll_seconds, &mut out).await;
        let _ = c.client.batch_execute("ROLLBACK").await;
        checked
    }
    .await;
    if let Err(e) = result {
        out.push(Finding::fail(
            "doctor",
            format!("a check could not run: {e:#}"),
            "fix what the message names, then run `vecsync doctor` again",
        ));
    }
    out
}

/// `sslmode`, as libpq (and vecsync) read it.
fn tls(spec: &ConnectSpec) -> Finding {
    use tokio_postgres::config::{Host, SslMode};
    let local = spec.pg.get_hosts().iter().all(|h| match h {
        Host::Tcp(h) => matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]"),
        #[cfg(unix)]
        Host::Unix(_) => true,
    });
    let sslmode = url::Url::parse(&spec.redacted).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "sslmode")
            .map(|(_, v)| v.into_owned())
    });
    match (spec.pg.get_ssl_mode(), sslmode.as_deref()) {
        (SslMode::Disable, _) if local => {
            Finding::ok("tls", "plain TCP to a server on this machine")
        }
        (SslMode::Disable, _) => Finding::warn(
            "tls",
            "sslmode=disable: the connection to a remote server is not encrypted",
            "use ?sslmode=require (or verify-full)",
        ),
        (SslMode::Prefer, _) => Finding::warn(
            "tls",
            "no sslmode (or prefer): TLS only if the server offers it, plain text otherwise",
            "add ?sslmode=require to database_url (verify-full to also check the certificate)",
        ),
        (_, Some("verify-ca" | "verify-full")) => Finding::ok(
            "tls",
            "TLS, server certificate verified (sslmode=verify-full/verify-ca)",
        ),
        _ => Finding::ok(
            "tls",
            "TLS (sslmode=require: encrypted, server certificate not verified; verify-full checks it)",
        ),
    }
}

/// The checks that need the connection, inside the read-only transaction.
async fn checks(
    store: &PostgresStore,
    c: &mut Conn,
    dims: Option<usize>,
    poll_seconds: u64,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let row = c
        .query_one(include_str!("sql/doctor/server.sql"), &[])
        .await?;
    let (role, database, version, server_port): (String, String, String, Option<i32>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    out.push(Finding::ok(
        "connection",
        format!("connected to database {database:?} as role {role:?} (PostgreSQL {version})"),
    ));
    out.push(pooler(
        &store.pool.spec,
        server_port,
        store.options.listen_url.is_some(),
        poll_seconds,
    ));
    out.push(pgvector(c).await?);

    // Read first: a failed inspection aborts doctor's one transaction.
    let role: String = c.query_one("SELECT current_user::text", &[]).await?.get(0);
    let table = match store.inspect(c).await {
        Ok(found) => found,
        Err(e) if is_permission_denied(&e) => {
            // Nothing about the table can be read: say which grant opens it.
            let schema = store.source.table.split_once('.').map(|(s, _)| s);
            out.push(Finding::fail(
                "source.table",
                format!(
                    "role {role:?} cannot read table {:?}: {e:#}",
                    store.source.table
                ),
                match schema {
                    Some(schema) => format!(
                        "GRANT USAGE ON SCHEMA {} TO {}; then run vecsync doctor again for the grants on the table",
                        ident(schema),
                        ident(&role)
                    ),
                    None => "grant the role USAGE on the table's schema and SELECT on the table; then run vecsync doctor again".to_string(),
                },
            ));
            return Ok(());
        }
        Err(e) => {
            out.push(setting_finding("source.table", e)?);
            return Ok(());
        }
    };
    let (oid, cols) = (table.oid, &table.columns[..]);
    columns(store, c, &table, dims, out).await?;
    let inst = Installed::read(store, c, oid).await?;
    installation(store, c, oid, cols, &inst, out).await?;
    row_security(store, c, oid, out).await?;
    privileges(store, c, oid, cols, &inst, out).await?;
    if inst.schema {
        queue(store, c, out).await?;
    }
    Ok(())
}

/// A config error as a failed finding (with a generic fix); other errors are returned.
/// A permission error (SQLSTATE 42501) anywhere in `e`'s chain.
fn is_permission_denied(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<super::errors::PgError>()
            .map(|p| &p.error)
            .or_else(|| c.downcast_ref::<tokio_postgres::Error>())
            .and_then(|e| e.code())
            .is_some_and(|code| *code == tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    })
}

fn setting_finding(check: &str, e: anyhow::Error) -> Result<Finding> {
    match e.downcast_ref::<ConfigError>() {
        Some(ConfigError { setting, message }) => {
            // A config error names the setting it is about: that is the check.
            let check = if setting.is_empty() || setting.contains(' ') {
                check
            } else {
                setting.as_str()
            };
            Ok(Finding::fail(
                check,
                message,
                format!("fix {check} in vecsync.toml, or the table"),
            ))
        }
        None => Err(e),
    }
}

/// A pooler between vecsync and the server, and what it costs. vecsync's statements work
/// through any pooler; `work`'s LISTEN does not through one in transaction mode (it then
/// polls every `poll_seconds`, or LISTENs on `listen_url`).
fn pooler(
    spec: &ConnectSpec,
    server_port: Option<i32>,
    listen_url: bool,
    poll_seconds: u64,
) -> Finding {
    let port = spec.pg.get_ports().first().copied().unwrap_or(5432);
    let host = spec
        .pg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let polls = format!(
        "`vecsync work` cannot LISTEN through it and polls every {poll_seconds} s, so a change waits up to {poll_seconds} s before it is embedded"
    );
    let fix = |direct: &str| {
        format!("set listen_url (env DIRECT_URL) to a direct or session-mode connection ({direct}) for changes at once")
    };
    if let Some(hint) = spec.pooler_hint {
        return if listen_url {
            Finding::ok(
                "pooler",
                format!("transaction-mode pooler ({hint}); `vecsync work` LISTENs on listen_url"),
            )
        } else {
            Finding::warn(
                "pooler",
                format!("transaction-mode pooler ({hint}): vecsync works through it, but {polls}"),
                fix("on Supabase: the direct connection or the session pooler, port 5432"),
            )
        };
    }
    match server_port {
        // `work` never LISTENs through such a port (a transaction pooler would hand its
        // LISTEN to other clients): src/store/postgres/listen.rs.
        Some(server) if server != i32::from(port) && !listen_url => Finding::warn(
            "pooler",
            format!("a pooler or proxy forwards port {port} to the server's port {server} (in transaction mode a LISTEN through it would reach other clients): vecsync works through it, but {polls}"),
            fix(&format!("the server's own port {server}, or this URL if it is a session-mode pooler")),
        ),
        Some(server) if server != i32::from(port) => Finding::ok(
            "pooler",
            format!("a pooler or proxy forwards port {port} to the server's port {server}; `vecsync work` LISTENs on listen_url"),
        ),
        _ if host.contains("pooler.") => Finding::ok(
            "pooler",
            format!("session-mode pooler on port {port}: LISTEN works"),
        ),
        _ => Finding::ok("pooler", "direct connection (no pooler detected)"),
    }
}

async fn pgvector(c: &mut Conn) -> Result<Finding> {
    let rows = c
        .query(include_str!("sql/doctor/pgvector.sql"), &[])
        .await?;
    let Some(row) = rows.first() else {
        return Ok(Finding::fail(
            "pgvector",
            "pgvector is not installed in this database",
            "CREATE EXTENSION vector (on Supabase: CREATE EXTENSION vector WITH SCHEMA extensions)",
        ));
    };
    let (version, schema): (String, String) = (row.get(0), row.get(1));
    let numbers: Vec<u32> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    if numbers.as_slice() < [0, 5].as_slice() {
        return Ok(Finding::warn(
            "pgvector",
            format!("pgvector {version} in schema {schema:?}: `vecsync index` needs HNSW (0.5.0 or later)"),
            "ALTER EXTENSION vector UPDATE",
        ));
    }
    Ok(Finding::ok(
        "pgvector",
        format!("pgvector {version} in schema {schema:?}"),
    ))
}

/// The id, embedding, template and display columns, and the filter.
async fn columns(
    store: &PostgresStore,
    c: &mut Conn,
    found: &Table,
    dims: Option<usize>,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let (oid, cols) = (found.oid, &found.columns[..]);
    let source = &store.source;
    let table = &source.table;
    let find = |name: &str| cols.iter().find(|c| c.name == name);
    out.push(match find(&source.id_column) {
        None => setting_finding(
            "source.id_column",
            store.missing_column("source.id_column", &source.id_column, found),
        )?,
        Some(id) => match store.check_unique_id(c, oid).await {
            Ok(()) => Finding::ok(
                "source.id_column",
                format!(
                    "{:?} is {} and unique (table {table:?})",
                    id.name, id.display_type
                ),
            ),
            Err(e) => setting_finding("source.id_column", e)?,
        },
    });
    out.push(match find(&source.embedding_column) {
        None => setting_finding(
            "source.embedding_column",
            store.missing_column("source.embedding_column", &source.embedding_column, found),
        )?,
        Some(emb) => embedding_column(emb, table, found, dims),
    });
    for (setting, wanted) in [
        ("source.template", store.template.columns()),
        (
            "source.display_columns",
            source.display_columns.iter().map(String::as_str).collect(),
        ),
    ] {
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| find(w).is_none())
            .collect();
        out.push(match missing.as_slice() {
            [one] => setting_finding(setting, store.missing_column(setting, one, found))?,
            [_, _, ..] => Finding::fail(
                setting,
                format!("columns {missing:?} do not exist in table {table:?}"),
                format!("fix {setting} in vecsync.toml (names are case-sensitive)"),
            ),
            [] => Finding::ok(setting, format!("columns {wanted:?} exist")),
        });
    }
    if let Some(filter) = &source.filter {
        let vars = store.names.vars();
        let probe = vars.fill(include_str!("sql/catalog/filter_probe.sql"));
        // What `init` found (meta.filter_immutable; nothing before `init`).
        let mark = guarded(c, &vars.fill(include_str!("sql/status/audit_mark.sql"))).await?;
        // Some(None): installed, but `init` could not ask.
        let recorded = mark
            .ok()
            .and_then(|rows| super::status::recorded_filter_immutable(&rows));
        let immutable = recorded.flatten();
        out.push(match guarded(c, &probe).await? {
            Ok(_) if recorded == Some(None) => Finding::warn(
                "source.filter",
                format!("{filter:?} works on table {table:?}, but `init` could not check whether it depends on the row alone (the role that ran it may not create temporary tables), so every `status` is a full audit"),
                "run `vecsync init` once as a role that may create temporary tables (GRANT TEMP ON DATABASE ...)",
            ),
            Ok(_) if immutable == Some(false) => Finding::warn(
                "source.filter",
                format!("{filter:?} works on table {table:?}, but depends on more than the row (the time, a setting or another table): rows enter and leave it without a write, so every `status` is a full audit and workers audit the table once a minute"),
                "to keep status cheap, keep the condition in a column (a boolean the application or a cron job sets) and filter on that",
            ),
            Ok(_) => Finding::ok(
                "source.filter",
                format!("{filter:?} works on table {table:?}"),
            ),
            Err(e)
                if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
            {
                Finding::warn(
                    "source.filter",
                    format!("{filter:?} cannot be tried: the role may not read table {table:?}"),
                    "see the privileges findings",
                )
            }
            Err(e) => Finding::fail(
                "source.filter",
                format!(
                    "{filter:?} does not work on table {table:?}: {}",
                    describe(&e)
                ),
                "fix source.filter: a SQL condition over the table's columns",
            ),
        });
    }
    Ok(())
}

/// The embedding column's type and dimension against the model's.
/// `table` as configured (for messages); `found` gives the names the fixes use: the table
/// quoted and qualified, pgvector's type with its schema (SQL to paste, whatever the
/// search_path).
fn embedding_column(emb: &Column, table: &str, found: &Table, dims: Option<usize>) -> Finding {
    let check = "source.embedding_column";
    let name = &emb.name;
    let alter = |n: &str| {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {}.vector({n})",
            found.qualified,
            quote_ident(name),
            found.pgvector
        )
    };
    if emb.typname != "vector" {
        return Finding::fail(
            check,
            format!("column {name:?} of table {table:?} is {}, not a pgvector vector column", emb.display_type),
            format!("ALTER TABLE {} ADD COLUMN embedding {}.vector(N) (N = the model's dimensions), and point source.embedding_column at it", found.qualified, found.pgvector),
        );
    }
    let model = dims.map(|d| d.to_string()).unwrap_or_else(|| "N".into());
    if emb.typmod <= 0 {
        return Finding::warn(
            check,
            format!("column {name:?} of table {table:?} is a vector without a dimension: it takes vectors of any size, and `vecsync index` cannot build an HNSW index on it"),
            alter(&model),
        );
    }
    match dims {
        Some(d) if d != emb.typmod as usize => Finding::fail(
            check,
            format!(
                "column {name:?} of table {table:?} is vector({}) but the model makes {d} dimensions",
                emb.typmod
            ),
            format!(
                "set embedder.dimensions = {} if the model supports it, or change the column: {} (existing vectors must be cleared first)",
                emb.typmod,
                alter(&d.to_string())
            ),
        ),
        _ if emb.typmod > HNSW_MAX_DIMENSIONS => Finding::warn(
            check,
            format!(
                "column {name:?} is vector({}): search works, but pgvector's HNSW index (`vecsync index`) takes at most {HNSW_MAX_DIMENSIONS} dimensions",
                emb.typmod
            ),
            format!("set embedder.dimensions to {HNSW_MAX_DIMENSIONS} or fewer (and the column to match), or search without an index"),
        ),
        _ => Finding::ok(
            check,
            format!("column {name:?} is {} = the model's dimensions", emb.display_type),
        ),
    }
}

/// What is installed, against the config: the schema, its version, the triggers.
async fn installation(
    store: &PostgresStore,
    c: &mut Conn,
    oid: u32,
    cols: &[Column],
    inst: &Installed,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let n = &store.names;
    let source = &store.source;
    let schema = &n.schema;
    if !inst.schema {
        out.push(Finding::warn(
            "install",
            format!("vecsync is not installed in this database yet (no schema {schema:?})"),
            "`vecsync init`, or the first `vecsync backfill`, installs it",
        ));
        return Ok(());
    }
    if let Some(m) = &inst.meta {
        if m.source_oid != oid && m.source_table != source.table {
            out.push(Finding::fail(
                "install",
                format!(
                    "schema {schema:?} is installed for table {:?}, not {:?}",
                    m.source_table, source.table
                ),
                "set `schema` to another name for this table (one schema per table)",
            ));
            return Ok(());
        }
    }
    out.push(match inst.version {
        None if inst.migrations => Finding::warn(
            "install",
            format!(
                "schema {schema:?} exists, but the role cannot read {}",
                n.migrations
            ),
            "see the privileges findings",
        ),
        None => Finding::fail(
            "install",
            format!("schema {schema:?} exists but holds no vecsync installation"),
            "`vecsync init` (or choose another schema)",
        ),
        Some(v) if v < SCHEMA_VERSION => Finding::warn(
            "install",
            format!("installed by an older vecsync (version {v}, this one is {SCHEMA_VERSION})"),
            "`vecsync init` migrates it",
        ),
        Some(v) if v > SCHEMA_VERSION => Finding::fail(
            "install",
            format!("installed by a newer vecsync (version {v}, this one knows {SCHEMA_VERSION})"),
            "upgrade vecsync",
        ),
        Some(v) => Finding::ok("install", format!("schema {schema:?}, version {v}")),
    });

    let table = &source.table;
    let reinstall = "`vecsync init` as the table's owner reinstalls them; then `vecsync reconcile --fix` queues what was missed";
    let installed = inst.triggers + inst.disabled;
    let trigger_finding = if installed == 0 {
        Finding::fail(
            "triggers",
            format!("no vecsync trigger on table {table:?}: inserts and edits are not queued"),
            reinstall,
        )
    } else if inst.disabled > 0 {
        Finding::fail(
            "triggers",
            format!("{} of vecsync's triggers on table {table:?} or its partitions are disabled or fire only for replication: changes are missed", inst.disabled),
            "`vecsync init` re-enables them (as the table's owner or a role with TRIGGER on it); then `vecsync reconcile --fix` queues what was missed",
        )
    } else if installed != 4 {
        Finding::fail(
            "triggers",
            format!("{installed} vecsync triggers on table {table:?}, expected 4"),
            reinstall,
        )
    } else {
        match (&inst.meta, store.has_key_columns(cols)) {
            (None, _) => Finding::warn(
                "triggers",
                format!("4 triggers on table {table:?}; the role cannot read {} to compare them with the config", n.meta),
                "see the privileges findings",
            ),
            (Some(_), Err(_)) => Finding::warn(
                "triggers",
                "cannot compare the triggers with the config until the columns above are fixed",
                "fix the columns, then run `vecsync doctor` again",
            ),
            (Some(m), Ok(())) if m.triggers_hash != store.triggers_hash() => {
                let what = if m.template != source.template {
                    format!("source.template was {:?} when they were installed", m.template)
                } else if m.filter != source.filter {
                    format!("source.filter was {:?} when they were installed", m.filter)
                } else {
                    "the table's columns changed (added, renamed or dropped) since they were installed".to_string()
                };
                Finding::fail(
                    "triggers",
                    format!("vecsync's triggers on table {table:?} do not match the config: {what}"),
                    reinstall,
                )
            }
            (Some(_), Ok(_)) => Finding::ok(
                "triggers",
                format!("4 triggers on table {table:?}, matching the template, filter and columns"),
            ),
        }
    };
    out.push(trigger_finding);

    // Application roles that write the table run the triggers too (unless SECURITY DEFINER).
    if installed > 0 && !inst.security_definer {
        let rows = c
            .query(include_str!("sql/doctor/app_roles.sql"), &[&oid, schema])
            .await?;
        let roles: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        out.push(if roles.is_empty() {
            Finding::ok(
                "app_roles",
                format!("every role that can write table {table:?} can also run vecsync's triggers"),
            )
        } else {
            let list = roles.iter().map(|r| ident(r)).collect::<Vec<_>>().join(", ");
            Finding::fail(
                "app_roles",
                format!("role(s) {list} can write table {table:?}, but vecsync's triggers, installed by an older vecsync, run as the writing role and they lack access to schema {schema:?}: their INSERT/UPDATE/DELETE will fail"),
                "run `vecsync init`: it replaces them with SECURITY DEFINER triggers, which need no grant",
            )
        });
    }
    Ok(())
}

/// Row-level security, for reading (status, dry runs) and for writing (backfill, work).
async fn row_security(
    store: &PostgresStore,
    c: &mut Conn,
    oid: u32,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let read = store.row_security(c, oid, false).await?;
    let write = store.row_security(c, oid, true).await?;
    let table = &store.source.table;
    out.push(if read.hides || write.hides {
        let who = Who::read(c, oid).await?;
        let (message, fix) = hidden_rows(&who, true);
        let refused = if read.hides {
            "`status`, `backfill` and `work` refuse to run"
        } else {
            "`backfill` and `work` refuse to run"
        };
        Finding::fail(
            "row_security",
            format!("{message}; {refused} ({} policies apply to the role)", read.policies),
            fix,
        )
    } else if read.active {
        Finding::ok(
            "row_security",
            format!("row-level security is on for table {table:?}, and a policy lets the role see and update every row"),
        )
    } else {
        Finding::ok(
            "row_security",
            format!("row-level security hides no row of table {table:?} from the role"),
        )
    });
    Ok(())
}

/// For each command, the privileges the role lacks.
async fn privileges(
    store: &PostgresStore,
    c: &mut Conn,
    oid: u32,
    cols: &[Column],
    inst: &Installed,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let current =
        store.has_key_columns(cols).is_ok() && inst.is_current(oid, &store.triggers_hash());
    for command in Command::ALL {
        let check = format!("privileges.{}", command.label());
        let missing = store
            .missing_privileges(c, command, oid, cols, inst)
            .await?;
        out.push(match missing {
            None => Finding::ok(
                &check,
                format!("the role has every privilege {} needs", command.label()),
            ),
            Some(m) => {
                // `init` and `uninstall` may well be run by another (owner) role: only a
                // missing installation makes `init` a must.
                // (An installation the role cannot read is one it did not make.)
                let readable = inst.version.is_some() && inst.meta.is_some();
                let must = match command {
                    Command::Init => !inst.schema || (readable && !current),
                    Command::Uninstall => false,
                    _ => true,
                };
                let mut f = Finding::fail(&check, m.message(), m.fix());
                if !must {
                    f.level = Level::Warn;
                }
                f
            }
        });
    }
    Ok(())
}

/// Failed rows and expired leases.
async fn queue(store: &PostgresStore, c: &mut Conn, out: &mut Vec<Finding>) -> Result<()> {
    let sql = store
        .names
        .vars()
        .fill(include_str!("sql/doctor/queue_health.sql"));
    let row = match guarded(c, &sql).await? {
        Ok(rows) => rows.into_iter().next(),
        Err(e) => {
            out.push(Finding::warn(
                "queue",
                format!("cannot read {}: {}", store.names.queue, describe(&e)),
                "see the privileges findings",
            ));
            return Ok(());
        }
    };
    let Some(row) = row else { return Ok(()) };
    let (pending, leased, expired, failed, top, top_count): (
        i64,
        i64,
        i64,
        i64,
        Option<String>,
        i64,
    ) = (
        row.get(0),
        row.get(1),
        row.get(2),
        row.get(3),
        row.get(4),
        row.get(5),
    );
    crate::doctor::queue_findings(
        &crate::doctor::QueueHealth {
            pending,
            leased,
            expired,
            failed,
            top_failure: top,
            top_count,
        },
        out,
    );
    Ok(())
}

/// Runs `sql` under a savepoint: a failure is returned (the transaction goes on), a lost
/// connection is an error.
async fn guarded(
    c: &mut Conn,
    sql: &str,
) -> Result<std::result::Result<Vec<Row>, tokio_postgres::Error>> {
    let client = &c.client;
    let pg = |e: tokio_postgres::Error| anyhow::anyhow!(describe(&e));
    client
        .batch_execute("SAVEPOINT vecsync_doctor")
        .await
        .map_err(pg)?;
    match client.query_typed(sql, &[]).await {
        Ok(rows) => {
            client
                .batch_execute("RELEASE SAVEPOINT vecsync_doctor")
                .await
                .map_err(pg)?;
            Ok(Ok(rows))
        }
        Err(e) => {
            client
                .batch_execute("ROLLBACK TO SAVEPOINT vecsync_doctor")
                .await
                .map_err(pg)?;
            Ok(Err(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> ConnectSpec {
        ConnectSpec::parse("database_url", url).unwrap()
    }

    #[test]
    fn transaction_poolers_warn_with_their_cost_and_other_poolers_are_named() {
        let supabase = spec("postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres");
        let f = pooler(&supabase, Some(5432), false, 5);
        assert_eq!(f.level, Level::Warn);
        for needle in ["transaction-mode pooler", "port 6543", "polls every 5 s"] {
            assert!(f.message.contains(needle), "{}", f.message);
        }
        assert!(f.fix.unwrap().contains("listen_url"));
        // With listen_url, work LISTENs there: nothing to fix.
        assert_eq!(pooler(&supabase, Some(5432), true, 5).level, Level::Ok);
        let f = pooler(
            &spec("postgres://u:p@127.0.0.1:6432/db"),
            Some(5432),
            false,
            5,
        );
        assert_eq!(f.level, Level::Warn);
        assert!(f
            .message
            .contains("forwards port 6432 to the server's port 5432"));
        let f = pooler(
            &spec("postgres://u:p@aws-0-eu.pooler.supabase.com:5432/postgres"),
            Some(5432),
            false,
            5,
        );
        assert_eq!(
            (f.level, f.message.contains("session-mode")),
            (Level::Ok, true)
        );
        let f = pooler(
            &spec("postgres://u:p@db.example.com/db"),
            Some(5432),
            false,
            5,
        );
        assert!(f.message.contains("direct connection"));
    }

    #[test]
    fn tls_follows_sslmode() {
        let level = |url: &str| tls(&spec(url)).level;
        assert_eq!(level("postgres://u:p@127.0.0.1/db"), Level::Ok);
        assert_eq!(level("postgres://u:p@db.example.com/db"), Level::Warn);
        assert_eq!(
            level("postgres://u:p@db.example.com/db?sslmode=disable"),
            Level::Warn
        );
        assert_eq!(
            level("postgres://u:p@db.example.com/db?sslmode=require"),
            Level::Ok
        );
        let full = tls(&spec(
            "postgres://u:p@db.example.com/db?sslmode=verify-full",
        ));
        assert!(full.message.contains("verified"), "{}", full.message);
    }
}
