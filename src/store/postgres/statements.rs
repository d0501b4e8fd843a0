//! SQL text and parameters.
//!
//! Every statement lives in a `.sql` file next to the code that runs it (`sql/<module>/`,
//! `migrations/`), loaded with `include_str!`, with a header comment that documents its
//! parameters. `{name}` placeholders stand for what is known once per store: quoted
//! identifiers (`{queue}`, `{table}`, `{id}`…), the compiled template (`{render}`), the
//! filter, and, once the table has been inspected, the id and vector types. Values are
//! never substituted: they stay bound parameters (`$1`…).

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::config::{quote_ident, quote_qualified, SourceConfig};
use crate::template::{sql_string_literal, Template};

/// SQL fragments built once from the config: identifiers quoted, template compiled.
pub(super) struct Names {
    /// vecsync's schema, raw.
    pub(super) schema: String,
    /// Quoted schema.
    pub(super) qs: String,
    pub(super) queue: String,
    pub(super) row_counts: String,
    pub(super) completions: String,
    pub(super) state: String,
    pub(super) usage: String,
    pub(super) meta: String,
    pub(super) migrations: String,
    /// The model migration row (`vecsync migrate`): the fence every claim, write and
    /// search checks.
    pub(super) vectorizer: String,
    /// `NOTIFY` channel (raw; quoted where used as an identifier).
    pub(super) channel: String,
    /// Quoted `table` / `schema.table`.
    pub(super) table: String,
    pub(super) id: String,
    pub(super) emb: String,
    /// Renders the template for the source row aliased `s`.
    pub(super) render: String,
    /// `(filter)` or `true`.
    pub(super) filter: String,
    /// The source restricted to the filter, to be aliased: `(SELECT id, … FROM t WHERE f)`
    /// with the columns the config names.
    /// Keeps the operator's bare column names from meeting vecsync's own columns.
    pub(super) src: String,
    /// `'title', s."title", …`: the arguments of `jsonb_build_object` for search hits.
    display_fields: String,
    /// The table's storage fingerprint (`sql/status/storage.sql`).
    storage: String,
    /// The table's own name, quoted: the triggers show the filter each row under it, so
    /// `is_active` and `jobs.is_active` both work.
    alias: String,
}

impl Names {
    pub(super) fn new(schema: &str, source: &SourceConfig, template: &Template) -> Names {
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
        // Only the columns vecsync reads, not `*`: a role granted SELECT on those columns
        // alone (docs/postgres.md, "Privileges") may read the source this way.
        let mut columns: Vec<String> = Vec::new();
        for (_, c) in crate::store::required_columns(source, template) {
            let c = quote_ident(c);
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        let src = match &source.filter {
            Some(_) => format!(
                "(SELECT {} FROM {table} WHERE {filter})",
                columns.join(", ")
            ),
            None => table.clone(),
        };
        let display_fields = source
            .display_columns
            .iter()
            .map(|c| format!("{}, s.{}", sql_string_literal(c), quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        Names {
            storage: storage_of(&format!("{}::regclass", sql_string_literal(&table))),
            alias: quote_ident(source.table.rsplit('.').next().unwrap_or_default()),
            schema: schema.to_string(),
            queue: format!("{qs}.queue"),
            row_counts: format!("{qs}.row_counts"),
            completions: format!("{qs}.completions"),
            state: format!("{qs}.state"),
            usage: format!("{qs}.usage"),
            meta: format!("{qs}.meta"),
            migrations: format!("{qs}.migrations"),
            vectorizer: format!("{qs}.vectorizer"),
            qs,
            channel: format!("{schema}_work"),
            table,
            id: quote_ident(&source.id_column),
            emb: quote_ident(&source.embedding_column),
            render,
            filter,
            src,
            display_fields,
        }
    }

    /// The placeholders every statement may use.
    pub(super) fn vars(&self) -> Vars {
        Vars(vec![
            ("schema", self.qs.clone()),
            ("schema_name", sql_string_literal(&self.schema)),
            ("queue", self.queue.clone()),
            ("row_counts", self.row_counts.clone()),
            ("completions", self.completions.clone()),
            ("state", self.state.clone()),
            ("usage", self.usage.clone()),
            ("meta", self.meta.clone()),
            ("migrations", self.migrations.clone()),
            ("vectorizer", self.vectorizer.clone()),
            ("channel", sql_string_literal(&self.channel)),
            ("table", self.table.clone()),
            ("id", self.id.clone()),
            ("embedding", self.emb.clone()),
            ("render", self.render.clone()),
            ("filter", self.filter.clone()),
            ("source", self.src.clone()),
            ("display_fields", self.display_fields.clone()),
            ("alias", self.alias.clone()),
            ("storage", self.storage.clone()),
        ])
    }
}

/// `sql/status/storage.sql` for `relation`, an expression of type regclass.
pub(super) fn storage_of(relation: &str) -> String {
    Vars(vec![("relation", relation.to_string())]).fill(include_str!("sql/status/storage.sql"))
}

/// Placeholder values for [`Vars::fill`].
#[derive(Clone)]
pub(super) struct Vars(Vec<(&'static str, String)>);

impl Vars {
    /// Adds (or replaces) a placeholder.
    pub(super) fn with(mut self, name: &'static str, value: impl Into<String>) -> Vars {
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value.into()));
        self
    }

    /// `sql` with every `{name}` (lowercase letters and `_`) replaced by its value, in one
    /// pass: a value is never scanned for placeholders itself, so a template literal such
    /// as `'{queue}'` stays text. Other braces are kept.
    ///
    /// Panics on a placeholder without a value: the SQL files are part of the program, and
    /// the unit tests fill every one of them.
    pub(super) fn fill(&self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() * 2);
        let mut rest = sql;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(after.len());
            if len > 0 && after[len..].starts_with('}') {
                let name = &after[..len];
                let value = self
                    .0
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| panic!("SQL placeholder {{{name}}} has no value"));
                out.push_str(value);
                rest = &after[len + 1..];
            } else {
                out.push('{');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

/// A vector parameter borrowed from a [`crate::store::Completion`] (pgvector's binary
/// format), so a batch of 1536-d vectors is not copied before it is sent.
#[derive(Debug)]
pub(super) struct VecParam<'a>(pub(super) &'a [f32]);

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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn fill_substitutes_once_and_keeps_other_braces() {
        let vars = Vars(vec![("a", "{b}".into()), ("b", "B".into())]);
        assert_eq!(
            vars.fill("x {a} {b} '{1,2}' {A} {"),
            "x {b} B '{1,2}' {A} {"
        );
        assert_eq!(vars.clone().with("a", "A").fill("{a}"), "A");
    }

    #[test]
    #[should_panic(expected = "{nope}")]
    fn fill_refuses_an_unknown_placeholder() {
        Vars(Vec::new()).fill("SELECT {nope}");
    }
}
