//! `search`: nearest rows by cosine distance (`sql/search/nearest.sql`).

use anyhow::Result;

use super::statements::{Vars, VecParam};
use super::PostgresStore;
use crate::store::SearchHit;

/// The search statement for one store.
pub(super) struct Statements {
    nearest: String,
}

impl Statements {
    pub(super) fn new(vars: &Vars) -> Statements {
        Statements {
            nearest: vars.fill(include_str!("sql/search/nearest.sql")),
        }
    }
}

pub(super) async fn search(
    store: &PostgresStore,
    query: &[f32],
    k: usize,
) -> Result<Vec<SearchHit>> {
    let sql = &store.ready().await?.search;
    let mut c = store.pool.get().await?;
    let k = k.min(i64::MAX as usize) as i64;
    let rows = c
        .query(
            &sql.nearest,
            &[&VecParam(query), &k, &store.options.model_id],
        )
        .await?;
    if rows.is_empty() {
        // No embedded row, or fenced: the query's model is no longer the column's.
        store.check_fence(&mut c).await?;
    }
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
