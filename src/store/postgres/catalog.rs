//! What the catalog says about the source table, and whether it fits the config: the table
//! exists and is a table, the columns the config names exist, the id column is unique,
//! the embedding column is a pgvector column of the model's dimension, the filter works.
//! Every mismatch is a one-line [`crate::config::ConfigError`] naming the setting.

use anyhow::Result;

use super::errors::describe;
use super::pool::Conn;
use super::PostgresStore;
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
    /// `format_type(atttypid, NULL)`: the name to cast to (qualified when not on the path).
    pub(super) cast_type: String,
}

impl Column {
    /// A row of `sql/catalog/columns.sql`.
    pub(super) fn from_row(r: &tokio_postgres::Row) -> Column {
        Column {
            name: r.get(0),
            display_type: r.get(1),
            typname: r.get(2),
            typmod: r.get(3),
            cast_type: r.get(4),
        }
    }
}

/// What the catalog says about the source table.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) oid: u32,
    /// `format_type` of the id column (`bigint`, `uuid`, `character varying(64)`…).
    pub(super) id_type: String,
    /// The name to cast to for the vector type (schema-qualified when not on the path).
    pub(super) vec_type: String,
    /// Every column but the embedding column and a model migration's other vector column
    /// (the UPDATE trigger watches these).
    pub(super) watched: Vec<String>,
}

impl PostgresStore {
    /// The source table's oid and columns; a one-line error when the table is missing.
    pub(super) async fn inspect(&self, c: &mut Conn) -> Result<(u32, Vec<Column>)> {
        let table = &self.source.table;
        let row = c
            .query(include_str!("sql/catalog/table.sql"), &[&self.names.table])
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
            .query(include_str!("sql/catalog/columns.sql"), &[&oid])
            .await?;
        Ok((oid, rows.iter().map(Column::from_row).collect()))
    }

    /// A one-line error for a column the config names but the table lacks.
    pub(super) fn missing_column(
        &self,
        setting: &str,
        column: &str,
        cols: &[Column],
    ) -> anyhow::Error {
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

    /// The id and embedding columns exist and the embedding column is a vector column.
    pub(super) fn shape_of(&self, oid: u32, cols: &[Column]) -> Result<Shape> {
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
                .filter(|c| {
                    c.name != emb.name && !self.options.other_vector_columns.contains(&c.name)
                })
                .map(|c| c.name.clone())
                .collect(),
        })
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
            Ok(())
        } else {
            Err(config_error!(
                "source.id_column: column {:?} of table {:?} is not unique; it needs a PRIMARY KEY or UNIQUE constraint",
                self.source.id_column,
                self.source.table
            ))
        }
    }

    /// Everything [`crate::store::Store::prepare`] checks before installing: pgvector, every
    /// column the config names, the embedding column's dimension, a unique id, the filter.
    pub(super) async fn check_source(&self, c: &mut Conn, dimensions: usize) -> Result<()> {
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
        let (oid, cols) = self.inspect(c).await?;
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
        self.check_unique_id(c, oid).await?;
        if let Some(filter) = &self.source.filter {
            let probe = self
                .names
                .vars()
                .fill(include_str!("sql/catalog/filter_probe.sql"));
            if let Err(e) = c.client.batch_execute(&probe).await {
                return Err(config_error!(
                    "source.filter: {filter:?} does not work on table {:?}: {}",
                    self.source.table,
                    describe(&e)
                ));
            }
        }
        Ok(())
    }
}
