//! What the catalog says about the source table, and whether it fits the config: pgvector
//! is installed, the table exists and is a table, the columns the config names exist, the
//! id column is unique, the embedding column is a pgvector column (of the model's
//! dimension), the filter works, also the way the triggers evaluate it (and whether it
//! depends on the row alone, which decides how `status` counts). Every mismatch is
//! a one-line [`crate::config::ConfigError`] naming the setting. `init`, `prepare` and the
//! first use of a store ([`PostgresStore::validate`]) all check the same things, so a typo
//! is refused before anything is installed, and a table that changed after `init` (a column
//! renamed or dropped) is reported instead of failing in the middle of a statement.

use anyhow::Result;

use super::errors::{describe, PgResultExt};
use super::pool::Conn;
use super::PostgresStore;
use crate::config::quote_ident;
use crate::config_error;

/// A column of the source table, from the catalog.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) name: String,
    /// `format_type(atttypid, atttypmod)`: `bigint`, `vector(384)`, `character varying(64)`.
    pub(super) display_type: String,
    /// `pg_type.typname`: `int8`, `vector`.
    pub(super) typname: String,
    pub(super) typmod: i32,
    /// A virtual generated column (PostgreSQL 18): computed when read, never stored.
    pub(super) virtual_generated: bool,
}

/// The source table as the catalog describes it.
pub(super) struct Table {
    pub(super) oid: u32,
    /// `"schema"."table"`, whatever the search_path.
    pub(super) qualified: String,
    pub(super) columns: Vec<Column>,
    /// The schema pgvector is installed in, quoted.
    pub(super) pgvector: String,
    /// Whether vecsync is installed (its meta table exists): then a column the config names
    /// but the table lacks is drift, not a typo.
    pub(super) installed: bool,
    /// A partitioned table (`relkind = 'p'`): its rows live in partitions.
    pub(super) partitioned: bool,
}

/// What the statements need to know about the source table.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    /// `format_type` of the id column (`bigint`, `uuid`, `character varying(64)`…).
    pub(super) id_type: String,
    /// The schema pgvector is installed in, quoted: its type, operators and operator
    /// classes are always named with it, whatever the role's search_path.
    pub(super) pgvector: String,
}

impl PostgresStore {
    /// Checks the table against the config (everything but the embedding's dimension) and
    /// returns what the catalog says.
    pub(super) async fn validate(&self, c: &mut Conn) -> Result<(Table, Shape)> {
        let table = self.inspect(c).await?;
        let shape = self.check_table(c, &table).await?;
        Ok((table, shape))
    }

    /// [`Self::validate`] of a table already inspected.
    pub(super) async fn check_table(&self, c: &mut Conn, table: &Table) -> Result<Shape> {
        let shape = self.check_catalog(c, table).await?;
        self.check_filter(c, table).await?;
        Ok(shape)
    }

    /// [`Self::check_table`] from the catalog alone: all but the filter, whose probes plan
    /// a statement on the table and so wait for any lock on it (`status` must not: its
    /// counts read no row of the table, and a filter that stopped working shows in the
    /// audit, which evaluates it).
    pub(super) async fn check_catalog(&self, c: &mut Conn, table: &Table) -> Result<Shape> {
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
            if table.column(column).is_none() {
                return Err(self.missing_column(setting, column, table));
            }
        }
        self.check_virtual_columns(table)?;
        let id = table.column(&self.source.id_column).expect("checked above");
        let emb = table
            .column(&self.source.embedding_column)
            .expect("checked above");
        if emb.typname != "vector" {
            return Err(config_error!(
                setting = "source.embedding_column",
                "column {:?} of table {:?} is {}, not a pgvector vector column",
                emb.name,
                self.source.table,
                emb.display_type
            ));
        }
        self.check_unique_id(c, table.oid).await?;
        if table.installed {
            self.check_queue_id_type(c, id).await?;
        }
        Ok(Shape {
            id_type: id.display_type.clone(),
            pgvector: table.pgvector.clone(),
        })
    }

    /// No column the template or the filter reads is a virtual generated column: PostgreSQL
    /// cannot read one from a trigger's transition table ("unexpected virtual generated
    /// column reference"), so every trigger would fail and leave every change unqueued.
    /// The filter's columns are found by name in its text (it is SQL vecsync does not
    /// parse), which errs toward refusing.
    fn check_virtual_columns(&self, table: &Table) -> Result<()> {
        let filter = self.source.filter.as_deref().unwrap_or_default();
        let in_filter = |name: &str| {
            filter
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .any(|w| w.eq_ignore_ascii_case(name))
        };
        let template = self.template.columns();
        for c in table.columns.iter().filter(|c| c.virtual_generated) {
            let setting = if template.contains(&c.name.as_str()) {
                "source.template"
            } else if in_filter(&c.name) {
                "source.filter"
            } else {
                continue;
            };
            return Err(config_error!(
                setting = setting,
                "column {:?} of table {:?} is a virtual generated column, which vecsync's triggers cannot read (PostgreSQL cannot read one from a trigger's transition table): make it STORED, or use the columns it is computed from",
                c.name,
                self.source.table
            ));
        }
        Ok(())
    }

    /// The id column still has the type vecsync's queue was made for: a column retyped
    /// after `init` (uuid to text, int to bigint) would make every statement that joins
    /// the queue fail (`operator does not exist: text = uuid`), so it is drift, said once.
    async fn check_queue_id_type(&self, c: &mut Conn, id: &Column) -> Result<()> {
        let queued = c
            .query(
                include_str!("sql/catalog/queue_id_type.sql"),
                &[&self.names.queue],
            )
            .await?;
        let Some(queued) = queued.first().map(|r| r.get::<_, String>(0)) else {
            return Ok(());
        };
        if queued == id.display_type {
            return Ok(());
        }
        Err(config_error!(
            setting = "source.id_column",
            "column {:?} of table {:?} is {} now, but vecsync's queue was made for {queued} ids when `vecsync init` ran; application writes go on. Run `vecsync uninstall`, then `vecsync init` (as the table's owner): vecsync's bookkeeping is rebuilt for the new type and every row is checked again",
            id.name,
            self.source.table,
            id.display_type
        ))
    }

    /// The embedding column holds vectors of the model's dimension (or of any dimension).
    pub(super) fn check_dimensions(&self, table: &Table, dimensions: usize) -> Result<()> {
        let emb = table
            .column(&self.source.embedding_column)
            .expect("validated");
        if emb.typmod > 0 && emb.typmod as usize != dimensions {
            return Err(config_error!(
                setting = "source.embedding_column",
                "column {:?} of table {:?} is vector({}) but the model makes {dimensions} dimensions",
                emb.name,
                self.source.table,
                emb.typmod
            ));
        }
        Ok(())
    }

    /// pgvector's schema and the source table's oid and columns; a one-line error when
    /// pgvector or the table is missing.
    pub(super) async fn inspect(&self, c: &mut Conn) -> Result<Table> {
        let pgvector = c
            .query(include_str!("sql/catalog/pgvector.sql"), &[])
            .await?;
        let Some(pgvector) = pgvector.first().map(|r| r.get::<_, String>(0)) else {
            return Err(config_error!(
                "pgvector is not installed in this database: CREATE EXTENSION vector"
            ));
        };
        let table = &self.source.table;
        let row = c
            .query(include_str!("sql/catalog/table.sql"), &[&self.names.table])
            .await?;
        let Some(row) = row.first() else {
            return Err(config_error!(
                setting = "source.table",
                "table {table:?} does not exist in this database"
            ));
        };
        let oid: u32 = row.get(0);
        let kind: String = row.get(1);
        let namespace: String = row.get(2);
        let name: String = row.get(3);
        if namespace == self.names.schema {
            // E.g. a role named like the schema: "$user" on the search_path finds it first.
            return Err(config_error!(
                setting = "source.table",
                "{table:?} resolves to a table in vecsync's own schema {namespace:?}; write it with its schema, e.g. \"public.{table}\""
            ));
        }
        if kind != "r" && kind != "p" {
            return Err(config_error!(
                setting = "source.table",
                "{table:?} is not a table (vecsync needs a table it can add triggers to)"
            ));
        }
        let rows = c
            .query(include_str!("sql/catalog/columns.sql"), &[&oid])
            .await?;
        let columns = rows
            .iter()
            .map(|r| Column {
                name: r.get(0),
                display_type: r.get(1),
                typname: r.get(2),
                typmod: r.get(3),
                virtual_generated: r.get(4),
            })
            .collect();
        let installed: bool = c
            .query_one(
                "SELECT to_regclass($1::text) IS NOT NULL",
                &[&self.names.meta],
            )
            .await?
            .get(0);
        Ok(Table {
            oid,
            qualified: format!("{}.{}", quote_ident(&namespace), quote_ident(&name)),
            columns,
            pgvector,
            installed,
            partitioned: kind == "p",
        })
    }

    /// A one-line error for a column the config names but the table lacks.
    pub(super) fn missing_column(
        &self,
        setting: &str,
        column: &str,
        table: &Table,
    ) -> anyhow::Error {
        let hint = table
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(column))
            .map(|c| format!(" (did you mean {:?}? names are case-sensitive)", c.name))
            .unwrap_or_default();
        config_error!(
            "{setting}: column {column:?} does not exist in table {:?}{hint}{}",
            self.source.table,
            drift_note(table, setting)
        )
    }

    /// The id column must identify rows: the triggers and the queue rely on it.
    pub(super) async fn check_unique_id(&self, c: &mut Conn, oid: u32) -> Result<()> {
        let unique: bool = c
            .query_one(
                include_str!("sql/catalog/unique_id.sql"),
                &[&oid, &self.source.id_column],
            )
            .await?
            .get(0);
        if unique {
            return Ok(());
        }
        let (id, table) = (&self.source.id_column, &self.source.table);
        let partition_key: Option<String> = c
            .query_one("SELECT pg_catalog.pg_get_partkeydef($1::oid)", &[&oid])
            .await?
            .get(0);
        Err(match partition_key {
            // PostgreSQL refuses a unique constraint on a partitioned table that does not
            // include the partition key: "add a PRIMARY KEY" would be a fix it forbids.
            Some(key) => config_error!(
                setting = "source.id_column",
                "table {table:?} is partitioned by {key}, and PostgreSQL allows a unique constraint on a partitioned table only if it includes the partition key, so column {id:?} cannot be unique on its own; vecsync needs a unique id: partition the table by it (PARTITION BY RANGE ({id}) or HASH ({id}), with a PRIMARY KEY ({id})), or set source.table to one partition"
            ),
            None => config_error!(
                setting = "source.id_column",
                "column {id:?} of table {table:?} is not unique; it needs a PRIMARY KEY or UNIQUE constraint"
            ),
        })
    }

    /// The filter is a valid condition on the table, for vecsync's statements (the
    /// connection's search_path) and for the triggers (a fixed search_path).
    pub(super) async fn check_filter(&self, c: &mut Conn, table: &Table) -> Result<()> {
        let Some(filter) = &self.source.filter else {
            return Ok(());
        };
        let vars = self.names.vars();
        let probe = vars.fill(include_str!("sql/catalog/filter_probe.sql"));
        if let Err(e) = c.client.batch_execute(&probe).await {
            return Err(config_error!(
                setting = "source.filter",
                "{filter:?} does not work on table {:?}: {}{}",
                self.source.table,
                describe(&e),
                drift_note(table, "source.filter")
            ));
        }
        let probe = vars
            .with("qualified_table", table.qualified.clone())
            .fill(include_str!("sql/catalog/filter_probe_triggers.sql"));
        let tx = c.client.transaction().await.pg()?;
        tx.batch_execute("SET LOCAL search_path = pg_catalog, pg_temp")
            .await
            .pg()?;
        if let Err(e) = tx.batch_execute(&probe).await {
            return Err(config_error!(
                setting = "source.filter",
                "{filter:?} does not work in vecsync's triggers, which run with search_path = pg_catalog: {}; name functions, types and operators of other schemas with their schema (e.g. public.f(x), OPERATOR(extensions.=))",
                describe(&e)
            ));
        }
        tx.rollback().await.pg()?;
        Ok(())
    }

    /// Whether the filter (if any) depends on the row alone (`sql/catalog/filter_immutable.sql`):
    /// only then can the triggers' row counts be trusted. Asked by `init` (it creates a
    /// temporary table, rolled back), which records the answer in meta, so that roles
    /// that may not create temporary tables (read-only ones) need not ask. Run with the
    /// session's search_path, under which the catalog named the column types. None: the
    /// probe failed for another reason than the filter (no TEMP privilege, a read-only
    /// transaction), so the answer is not known.
    pub(super) async fn filter_immutable(
        &self,
        c: &mut Conn,
        table: &Table,
    ) -> Result<Option<bool>> {
        if self.source.filter.is_none() {
            return Ok(Some(true));
        }
        let columns = table
            .columns
            .iter()
            .map(|c| format!("{} {}", quote_ident(&c.name), c.display_type))
            .collect::<Vec<_>>()
            .join(", ");
        let probe = self
            .names
            .vars()
            .with("columns", columns)
            .fill(include_str!("sql/catalog/filter_immutable.sql"));
        let tx = c.client.transaction().await.pg()?;
        let result = tx.batch_execute(&probe).await;
        tx.rollback().await.pg()?;
        let Err(e) = result else {
            return Ok(Some(true));
        };
        // A mutable function (42P17), a subquery (0A000), an aggregate or window function.
        let about_the_filter = ["42P17", "0A000", "42803", "42P20"]
            .iter()
            .any(|code| e.code().is_some_and(|c| c.code() == *code));
        if !about_the_filter {
            tracing::debug!("the filter's probe failed: {}", describe(&e));
        }
        Ok(about_the_filter.then_some(false))
    }
}

impl Table {
    pub(super) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// What a config mismatch means once vecsync is installed: the table changed (a column
/// renamed or dropped), the triggers leave rows alone, nothing is lost.
fn drift_note(table: &Table, setting: &str) -> String {
    if table.installed {
        format!(
            "; if it was renamed or dropped, application writes go on and rows keep their vectors until {setting} is fixed and `vecsync init` is run"
        )
    } else {
        String::new()
    }
}

impl PostgresStore {
    /// `Ok` when the id and embedding columns the config names are among `cols` (doctor:
    /// only then can the installed triggers be compared with the config).
    pub(super) fn has_key_columns(&self, cols: &[Column]) -> std::result::Result<(), ()> {
        let has = |name: &str| cols.iter().any(|c| c.name == name);
        if has(&self.source.id_column) && has(&self.source.embedding_column) {
            Ok(())
        } else {
            Err(())
        }
    }
}
