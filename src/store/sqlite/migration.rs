//! Model migrations on SQLite ([`crate::store::migration`]): the other vectorizer's tables
//! are `vecsync_next_*` (before the switch) or `vecsync_prev_*` (after it) and its column
//! `<embedding>_next` / `<embedding>_prev`. The swap renames both sets of tables and both
//! columns in one IMMEDIATE transaction (writers wait; WAL readers keep reading the
//! snapshot they have). SQL in `sql/migration.sql`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use rusqlite::{named_params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::statements::{fill, Statements, TABLES};
use super::{functions, setup};
use crate::config::{quote_ident, Config, SourceConfig};
use crate::store::migration::{
    check_add_column, check_begin, check_fence, in_phase, in_progress, unix_now, Migrator, Model,
    Phase, Record, Slot, Uncovered,
};
use crate::store::StoreOptions;

/// The statements of `sql/migration.sql`, for one namespace.
pub(in crate::store::sqlite) struct Sql {
    pub bookkeeping: String,
    pub uninstall: String,
    exists: String,
    record: String,
    pub fence: String,
    record_upsert: String,
    record_delete: String,
    uncovered: String,
    indexes: String,
    triggers: String,
    rename_table: String,
    rename_column: String,
    add_column: String,
    drop_column: String,
}

impl Sql {
    pub(super) fn take(mut take: impl FnMut(&str) -> String) -> Sql {
        Sql {
            bookkeeping: take("bookkeeping"),
            uninstall: take("uninstall"),
            exists: take("exists"),
            record: take("record"),
            fence: take("fence"),
            record_upsert: take("record_upsert"),
            record_delete: take("record_delete"),
            uncovered: take("uncovered"),
            indexes: take("indexes"),
            triggers: take("triggers"),
            rename_table: take("rename_table"),
            rename_column: take("rename_column"),
            add_column: take("add_column"),
            drop_column: take("drop_column"),
        }
    }
}

/// The fence, inside the caller's transaction: an error when this namespace's vectorizer
/// row names another model than the store's. (A database set up by a vecsync without
/// migrations has no such table: nothing to check.)
pub(super) fn check(conn: &Connection, sql: &Statements, options: &StoreOptions) -> Result<()> {
    let m = &sql.migration;
    if !conn.query_row(&m.exists, [], |r| r.get::<_, bool>(0))? {
        return Ok(());
    }
    let recorded = conn.query_row(&m.fence, [], |r| r.get(0)).optional()?;
    check_fence(recorded, &options.model_id)
}

/// The namespace's record, if its table exists and holds one.
fn read(conn: &Connection, sql: &Statements) -> Result<Option<Record>> {
    let m = &sql.migration;
    if !conn.query_row(&m.exists, [], |r| r.get::<_, bool>(0))? {
        return Ok(None);
    }
    let row = conn
        .query_row(&m.record, [], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Record {
                    phase: Phase::Building,
                    live_model: r.get(1)?,
                    live_dimensions: r.get::<_, i64>(2)?.max(0) as usize,
                    other_model: r.get(3)?,
                    other_dimensions: r.get::<_, Option<i64>>(4)?.map(|d| d.max(0) as usize),
                    started_at: r.get(5)?,
                    switched_at: r.get(6)?,
                    finished_at: r.get(7)?,
                },
            ))
        })
        .optional()?;
    row.map(|(phase, mut record)| {
        record.phase = Phase::parse(&phase)
            .ok_or_else(|| anyhow::anyhow!("unknown migration phase {phase:?}"))?;
        Ok(record)
    })
    .transpose()
}

/// The record of the SQLite file at `path`, creating nothing (no file: no record).
pub fn read_record(path: &Path) -> Result<Option<Record>> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    read(&conn, &Statements::new(&SourceConfig::default())?)
}

/// Writes the record of the namespace `sql` belongs to.
fn upsert(
    conn: &Connection,
    sql: &Statements,
    slot: Slot,
    phase: Phase,
    model: &Model,
    peer: Option<&Model>,
    times: [Option<f64>; 3],
) -> Result<()> {
    conn.execute(
        &sql.migration.record_upsert,
        named_params! {
            ":role": slot.role(),
            ":phase": phase.as_str(),
            ":model": model.id,
            ":dimensions": model.dimensions as i64,
            ":peer_model": peer.map(|p| p.id.as_str()),
            ":peer_dimensions": peer.map(|p| p.dimensions as i64),
            ":started_at": times[0],
            ":switched_at": times[1],
            ":finished_at": times[2],
        },
    )?;
    Ok(())
}

/// The migration operations on one SQLite table.
pub struct SqliteMigrator {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    config: Config,
}

impl SqliteMigrator {
    pub fn open(path: &PathBuf, config: &Config) -> Result<SqliteMigrator> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        functions::register(&conn)?;
        Ok(SqliteMigrator {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                config: config.clone(),
            }),
        })
    }

    /// Runs `f` with the connection on the blocking pool (a swap hashes every row).
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn, &inner)
        })
        .await?
    }
}

impl Inner {
    fn column(&self, slot: Slot) -> String {
        slot.column(&self.config.source.embedding_column)
    }

    /// The source config of a slot (its embedding column).
    fn source(&self, slot: Slot) -> SourceConfig {
        let mut source = self.config.source.clone();
        source.embedding_column = self.column(slot);
        source
    }

    /// A slot's statements.
    fn sql(&self, slot: Slot) -> Result<Statements> {
        Statements::new_in(&self.source(slot), &slot.sqlite_prefix())
    }

    /// `sql` with `{name}` placeholders filled with quoted identifiers.
    fn ddl(sql: &str, names: &[(&str, &str)]) -> String {
        let vars: Vec<(&str, String)> = names.iter().map(|(n, v)| (*n, quote_ident(v))).collect();
        fill(sql, &vars)
    }

    /// The declared type of `column` of the source table, if it has one.
    fn column_type(&self, conn: &Connection, column: &str) -> Result<Option<String>> {
        let sql = self.sql(Slot::Live)?;
        Ok(setup::columns(conn, &sql, &self.config.source)?
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(column))
            .map(|(_, t)| if t.is_empty() { "no type".into() } else { t }))
    }

    fn add_column_sql(&self) -> Result<String> {
        let sql = self.sql(Slot::Live)?;
        Ok(Inner::ddl(
            &sql.migration.add_column,
            &[("column", &self.column(Slot::Next))],
        ))
    }

    fn rename_column_sql(&self, from: Slot, to: Slot) -> Result<String> {
        let sql = self.sql(Slot::Live)?;
        Ok(Inner::ddl(
            &sql.migration.rename_column,
            &[("from", &self.column(from)), ("to", &self.column(to))],
        ))
    }

    fn uncovered(&self, conn: &Connection, slot: Slot, model: &str) -> Result<Uncovered> {
        let sql = self.sql(slot)?;
        let uncovered = fill(
            &sql.migration.uncovered,
            &[("live_emb", quote_ident(&self.column(Slot::Live)))],
        );
        let (rows, pending): (i64, i64) =
            conn.query_row(&uncovered, named_params! {":model": model}, |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(Uncovered {
            rows: rows as u64,
            pending: pending as u64,
        })
    }
}

#[async_trait]
impl Migrator for SqliteMigrator {
    async fn record(&self) -> Result<Option<Record>> {
        self.run(|conn, inner| read(conn, &inner.sql(Slot::Live)?))
            .await
    }

    async fn column_type(&self, column: &str) -> Result<Option<String>> {
        let column = column.to_string();
        self.run(move |conn, inner| inner.column_type(conn, &column))
            .await
    }

    async fn add_column_sql(&self, _dimensions: usize) -> Result<String> {
        self.inner.add_column_sql()
    }

    fn switch_sql(&self) -> Vec<String> {
        [(Slot::Live, Slot::Prev), (Slot::Next, Slot::Live)]
            .into_iter()
            .filter_map(|(from, to)| self.inner.rename_column_sql(from, to).ok())
            .collect()
    }

    fn finish_sql(&self) -> Vec<String> {
        let i = &self.inner;
        i.sql(Slot::Live)
            .map(|sql| {
                vec![Inner::ddl(
                    &sql.migration.drop_column,
                    &[("column", &i.column(Slot::Prev))],
                )]
            })
            .unwrap_or_default()
    }

    async fn begin(&self, live: &Model, next: &Model, add_column: bool) -> Result<()> {
        let (live, next) = (live.clone(), next.clone());
        self.run(move |conn, inner| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let sql = inner.sql(Slot::Live)?;
            setup::init(&tx, &sql, &inner.config.source)?;
            if check_begin(read(&tx, &sql)?.as_ref(), &next)? {
                return Ok(());
            }
            let column = inner.column(Slot::Next);
            let add = inner.add_column_sql()?;
            check_add_column(
                &inner.config.source.table,
                &column,
                inner.column_type(&tx, &column)?.as_deref(),
                add_column,
                &add,
            )?;
            tx.execute_batch(&add)?;
            let times = [Some(unix_now()), None, None];
            upsert(
                &tx,
                &sql,
                Slot::Live,
                Phase::Building,
                &live,
                Some(&next),
                times,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record_other(&self) -> Result<()> {
        self.run(|conn, inner| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (record, slot) = in_progress(read(&tx, &inner.sql(Slot::Live)?)?)?;
            let sql = inner.sql(slot)?;
            setup::init(&tx, &sql, &inner.source(slot))?;
            let other = record.other().expect("in progress");
            let times = [Some(record.started_at), record.switched_at, None];
            upsert(
                &tx,
                &sql,
                slot,
                record.phase,
                &other,
                Some(&record.live()),
                times,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn swap(&self, from: Phase) -> Result<std::result::Result<Phase, Uncovered>> {
        self.run(move |conn, inner| {
            // IMMEDIATE: no other writer from the check to the commit.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (record, other_slot) = in_phase(read(&tx, &inner.sql(Slot::Live)?)?, from)?;
            let other = record.other().expect("in progress");
            // SQLite has no triggers: queue what changed since the last run, as PostgreSQL's
            // triggers would have (a queued row with an older vector does not block).
            tx.execute(
                &inner.sql(other_slot)?.enqueue.needed,
                named_params! {":now": unix_now(), ":model": other.id},
            )?;
            let uncovered = inner.uncovered(&tx, other_slot, &other.id)?;
            if !uncovered.is_covered() {
                return Ok(Err(uncovered));
            }
            let (after_slot, phase) = match other_slot {
                Slot::Next => (Slot::Prev, Phase::Switched),
                _ => (Slot::Next, Phase::Building),
            };
            let live_sql = inner.sql(Slot::Live)?;
            let m = &live_sql.migration;
            let rename = |from: Slot, to: Slot| -> Result<()> {
                for t in TABLES {
                    let (from, to) = (
                        format!("{}{t}", from.sqlite_prefix()),
                        format!("{}{t}", to.sqlite_prefix()),
                    );
                    tx.execute_batch(&Inner::ddl(
                        &m.rename_table,
                        &[("from", &from), ("to", &to)],
                    ))?;
                }
                Ok(())
            };
            rename(Slot::Live, after_slot)?;
            rename(other_slot, Slot::Live)?;
            tx.execute_batch(&inner.rename_column_sql(Slot::Live, after_slot)?)?;
            tx.execute_batch(&inner.rename_column_sql(other_slot, Slot::Live)?)?;
            // Indexes keep their names when their table is renamed: re-create them under
            // their namespace's names.
            for slot in [Slot::Live, after_slot] {
                let sql = inner.sql(slot)?;
                let names: Vec<String> = tx
                    .prepare(&sql.migration.indexes)?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for name in names {
                    tx.execute_batch(&format!("DROP INDEX {}", quote_ident(&name)))?;
                }
            }
            for slot in [Slot::Live, after_slot] {
                setup::init(&tx, &inner.sql(slot)?, &inner.source(slot))?;
            }
            let old_live = record.live();
            let times = [
                Some(record.started_at),
                (phase == Phase::Switched).then(unix_now),
                None,
            ];
            upsert(
                &tx,
                &live_sql,
                Slot::Live,
                phase,
                &other,
                Some(&old_live),
                times,
            )?;
            upsert(
                &tx,
                &inner.sql(after_slot)?,
                after_slot,
                phase,
                &old_live,
                Some(&other),
                times,
            )?;
            tx.commit()?;
            Ok(Ok(phase))
        })
        .await
    }

    async fn drop_other(&self, from: Phase) -> Result<()> {
        self.run(move |conn, inner| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live_sql = inner.sql(Slot::Live)?;
            let (record, slot) = in_phase(read(&tx, &live_sql)?, from)?;
            let sql = inner.sql(slot)?;
            let triggers: Vec<String> = tx
                .prepare(&sql.migration.triggers)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for name in triggers {
                tx.execute_batch(&format!("DROP TRIGGER IF EXISTS {}", quote_ident(&name)))?;
            }
            for t in TABLES {
                tx.execute_batch(&format!(
                    "DROP TABLE IF EXISTS {}",
                    quote_ident(&format!("{}{t}", slot.sqlite_prefix()))
                ))?;
            }
            let column = inner.column(slot);
            if inner.column_type(&tx, &column)?.is_some() {
                tx.execute_batch(&Inner::ddl(
                    &live_sql.migration.drop_column,
                    &[("column", &column)],
                ))?;
            }
            match record.phase {
                Phase::Building => {
                    tx.execute(&live_sql.migration.record_delete, [])?;
                }
                _ => {
                    let times = [
                        Some(record.started_at),
                        record.switched_at,
                        Some(unix_now()),
                    ];
                    upsert(
                        &tx,
                        &live_sql,
                        Slot::Live,
                        Phase::Finished,
                        &record.live(),
                        None,
                        times,
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn index_other(&self) -> Result<Option<String>> {
        Ok(None)
    }

    async fn index_sql(&self) -> Result<Option<String>> {
        Ok(None)
    }
}
