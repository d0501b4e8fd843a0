//! `search`: exact cosine nearest neighbours over the vector BLOBs.

use anyhow::Result;
use rusqlite::types::ValueRef;
use rusqlite::{named_params, Connection};

use super::functions::vector_to_blob;
use super::migration;
use super::statements::Statements;
use crate::store::{SearchHit, StoreOptions};

pub(super) fn search(
    conn: &mut Connection,
    sql: &Statements,
    options: &StoreOptions,
    display: &[String],
    query: &[f32],
    k: usize,
) -> Result<Vec<SearchHit>> {
    // The fence and the search read one snapshot: a switch cannot come between them.
    let tx = conn.transaction()?;
    migration::check(&tx, sql, options)?;
    let mut stmt = tx.prepare_cached(&sql.search.nearest)?;
    let hits = stmt
        .query_map(
            named_params! {":query": vector_to_blob(query), ":k": k.min(i64::MAX as usize) as i64},
            |r| {
                let mut fields = serde_json::Map::new();
                for (i, c) in display.iter().enumerate() {
                    let v = match r.get_ref(2 + i)? {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(n) => n.into(),
                        ValueRef::Real(x) => x.into(),
                        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                        ValueRef::Blob(_) => serde_json::Value::Null,
                    };
                    fields.insert(c.clone(), v);
                }
                Ok(SearchHit {
                    id: r.get(0)?,
                    score: r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN) as f32,
                    fields,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    tx.commit()?;
    Ok(hits)
}
