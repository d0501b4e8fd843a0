//! Which of the config's embedder tables is live: the store's migration record decides,
//! not the order of `[embedder]` and `[next_embedder]`.

use anyhow::Result;

use crate::config::{Config, EmbedderConfig};
use crate::config_error;
use crate::store::migration::{read_record, Phase, Record, Slot};

/// The config as every command runs it, and the migration around it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The config as loaded (both tables, in the user's order).
    pub loaded: Config,
    /// The config with `embedder` = the table of the model the store says is live.
    /// `next_embedder` is the model a new migration would move to (none while one is in
    /// progress: see `other`).
    pub config: Config,
    pub record: Option<Record>,
    /// The other vectorizer of a migration in progress, when the config has its model.
    pub other: Option<Other>,
    /// Something the user should change in the config (`status` shows it).
    pub hint: Option<String>,
}

/// The vectorizer that is not live: its slot and its model's table.
#[derive(Debug, Clone)]
pub struct Other {
    pub slot: Slot,
    pub embedder: EmbedderConfig,
    /// `embedder` or `next_embedder`: where the config names it (for errors).
    pub table: &'static str,
}

/// Reads the store's migration record and resolves `config` against it.
pub async fn resolve(config: Config) -> Result<Resolved> {
    let record = read_record(&config).await?;
    resolve_with(config, record)
}

/// The rules (see `docs/migration.md`):
/// - no record: `[embedder]` is live, as always;
/// - otherwise the table that names the recorded live model is live, whichever it is; a
///   config that names it in neither table is refused, and so is one that names a third
///   model while a migration is in progress;
/// - after `--finish`, while the live model is still in `[next_embedder]`, the hint says
///   to move it into `[embedder]`.
pub fn resolve_with(mut config: Config, record: Option<Record>) -> Result<Resolved> {
    let loaded = config.clone();
    let Some(record) = record else {
        return Ok(Resolved {
            loaded,
            config,
            record: None,
            other: None,
            hint: None,
        });
    };
    let table = &config.source.table;
    let live = &record.live_model;
    let tables: Vec<(&'static str, EmbedderConfig)> =
        std::iter::once(("embedder", config.embedder.clone()))
            .chain(config.next_embedder.clone().map(|n| ("next_embedder", n)))
            .collect();
    let named = |model: &str| tables.iter().find(|(_, e)| e.model_id() == model);
    let names = tables
        .iter()
        .map(|(_, e)| format!("{:?}", e.model_id()))
        .collect::<Vec<_>>()
        .join(" and ");
    let Some((live_table, live_embedder)) = named(live) else {
        return Err(match record.phase {
            Phase::Building => config_error!(
                setting = "embedder.model",
                "{live:?} is the live model of table {table:?} until `vecsync migrate` switches, but the config names {names}; keep {live:?} in [embedder]"
            ),
            _ => config_error!(
                setting = "embedder.model",
                "`vecsync migrate` switched table {table:?} to {live:?}, but the config names {names}; put {live:?} in [embedder]"
            ),
        });
    };
    let other_model = record.other_model.clone();
    if let Some((name, stray)) = tables.iter().find(|(_, e)| {
        let id = e.model_id();
        id != *live && Some(&id) != other_model.as_ref()
    }) {
        if record.phase != Phase::Finished {
            return Err(config_error!(
                "{name}.model: {:?} is neither the live model {live:?} nor {:?}, which a migration in progress moves between; finish it (or `vecsync migrate --abort`) first",
                stray.model_id(),
                other_model.unwrap_or_default()
            ));
        }
    }
    let hint = match (record.phase, *live_table) {
        (Phase::Finished, "next_embedder") => Some(format!(
            "{live:?} is live since `vecsync migrate --finish`: move [next_embedder] into [embedder] in the config"
        )),
        _ => None,
    };
    let other = record.phase.other_slot().and_then(|slot| {
        let model = record.other_model.as_deref()?;
        named(model).map(|(table, e)| Other {
            slot,
            embedder: e.clone(),
            table,
        })
    });
    let hint = hint.or_else(|| match (record.phase, &other) {
        (Phase::Building, None) => Some(format!(
            "a migration to {:?} is in progress but the config does not name it: add it as [next_embedder], or run `vecsync migrate --abort`",
            other_model.as_deref().unwrap_or_default()
        )),
        (Phase::Switched, None) => Some(format!(
            "{:?} is kept for a rollback but not kept current: the config does not name it; run `vecsync migrate --finish` when you are sure",
            other_model.as_deref().unwrap_or_default()
        )),
        _ => None,
    });
    let next = config
        .next_embedder
        .take()
        .filter(|n| record.phase == Phase::Finished && n.model_id() != *live);
    config.embedder = live_embedder.clone();
    config.next_embedder = next;
    Ok(Resolved {
        loaded,
        config,
        record: Some(record),
        other,
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(model: &str, dims: usize) -> EmbedderConfig {
        EmbedderConfig {
            provider: "fake".into(),
            model: model.into(),
            dimensions: Some(dims),
            ..EmbedderConfig::default()
        }
    }

    fn config(embedder: EmbedderConfig, next: Option<EmbedderConfig>) -> Config {
        Config {
            embedder,
            next_embedder: next,
            ..Config::default()
        }
    }

    fn record(phase: Phase, live: &str, other: Option<&str>) -> Record {
        Record {
            phase,
            live_model: live.into(),
            live_dimensions: 8,
            other_model: other.map(String::from),
            other_dimensions: other.map(|_| 8),
            started_at: 0.0,
            switched_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn no_record_keeps_the_config() {
        let r = resolve_with(config(fake("a", 8), Some(fake("b", 8))), None).unwrap();
        assert_eq!(r.config.embedder.model, "a");
        assert_eq!(r.config.next_embedder.unwrap().model, "b");
        assert!(r.other.is_none());
    }

    #[test]
    fn the_record_decides_whatever_the_order() {
        let rec = record(Phase::Switched, "b:8", Some("a:8"));
        for c in [
            config(fake("a", 8), Some(fake("b", 8))),
            config(fake("b", 8), Some(fake("a", 8))),
        ] {
            let r = resolve_with(c, Some(rec.clone())).unwrap();
            assert_eq!(r.config.embedder.model, "b");
            let other = r.other.unwrap();
            assert_eq!(
                (other.slot, other.embedder.model.as_str()),
                (Slot::Prev, "a")
            );
            assert!(r.config.next_embedder.is_none());
        }
        let r = resolve_with(
            config(fake("a", 8), Some(fake("b", 8))),
            Some(record(Phase::Building, "a:8", Some("b:8"))),
        )
        .unwrap();
        assert_eq!(r.config.embedder.model, "a");
        assert_eq!(r.other.unwrap().slot, Slot::Next);
    }

    #[test]
    fn a_config_without_the_live_model_is_refused() {
        let rec = record(Phase::Switched, "b:8", Some("a:8"));
        let e = resolve_with(config(fake("a", 8), None), Some(rec)).unwrap_err();
        assert!(e.to_string().starts_with("embedder.model:"), "{e}");
        assert!(e.to_string().contains("\"b:8\""), "{e}");
        let rec = record(Phase::Building, "a:8", Some("b:8"));
        let e = resolve_with(config(fake("a", 8), Some(fake("c", 8))), Some(rec)).unwrap_err();
        assert!(e.to_string().starts_with("next_embedder.model:"), "{e}");
    }

    #[test]
    fn after_finish_the_hint_says_to_move_the_table() {
        let rec = record(Phase::Finished, "b:8", None);
        let r = resolve_with(config(fake("a", 8), Some(fake("b", 8))), Some(rec.clone())).unwrap();
        assert_eq!(r.config.embedder.model, "b");
        assert!(r
            .hint
            .unwrap()
            .contains("move [next_embedder] into [embedder]"));
        let r = resolve_with(config(fake("b", 8), Some(fake("c", 8))), Some(rec)).unwrap();
        assert!(r.hint.is_none());
        assert_eq!(
            r.config.next_embedder.unwrap().model,
            "c",
            "a new migration may start"
        );
    }
}
