//! `vecsync doctor`: every check a new setup needs, without writing anything, one finding
//! per line with its fix.
//!
//! The store's checks (connection, TLS, pooler, pgvector, the table and its columns,
//! privileges per command, row-level security, triggers against the config, queue health)
//! live with each store (`store::postgres::doctor`, `store::sqlite::doctor`); this module
//! adds the provider (one short text embedded, its dimension checked), and renders the
//! findings as text or JSON. Exit status: 0 when nothing needs fixing, 1 otherwise.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{redact_url, Config, StoreKind};
use crate::embed::{self, Embedder};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// As it should be.
    Ok,
    /// Works, but worth knowing (and maybe changing).
    Warn,
    /// Something vecsync needs is wrong or missing: fix it (exit status 1).
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was checked: `connection`, `tls`, `pooler`, `pgvector`, `source.table`,
    /// `source.embedding_column`, `privileges.status`, `row_security`, `triggers`, `queue`,
    /// `provider`… (stable names, for scripts).
    pub check: String,
    pub level: Level,
    pub message: String,
    /// What to do about it (absent when nothing needs doing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &str, message: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            level: Level::Ok,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warn(check: &str, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Warn,
            fix: Some(fix.into()),
            ..Finding::ok(check, message)
        }
    }

    pub fn fail(check: &str, message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            level: Level::Fail,
            fix: Some(fix.into()),
            ..Finding::ok(check, message)
        }
    }
}

/// Every finding, in the order they were made.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The database checked (password hidden).
    pub database: String,
    /// No finding needs fixing.
    pub ok: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    /// 0 when nothing needs fixing, 1 otherwise.
    pub fn exit_status(&self) -> i32 {
        if self.ok {
            0
        } else {
            1
        }
    }

    /// One line per finding (`ok`, `warn`, `FAIL`), its fix after `->`, then a summary.
    pub fn render_text(&self) -> String {
        let mut out = format!("vecsync doctor: {}\n", self.database);
        let width = self
            .findings
            .iter()
            .map(|f| f.check.len())
            .max()
            .unwrap_or(0);
        for f in &self.findings {
            let level = match f.level {
                Level::Ok => "ok  ",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            let fix = f
                .fix
                .as_deref()
                .map(|fix| format!(" -> {fix}"))
                .unwrap_or_default();
            let line = format!("{level}  {:width$}  {}{fix}", f.check, f.message);
            out.push_str(&line.replace('\n', " "));
            out.push('\n');
        }
        let count = |l: Level| self.findings.iter().filter(|f| f.level == l).count();
        let (fails, warns) = (count(Level::Fail), count(Level::Warn));
        out.push_str(&match (fails, warns) {
            (0, 0) => "all good\n".to_string(),
            (0, w) => format!("nothing to fix; {w} warning(s)\n"),
            (f, w) => format!("{f} problem(s) to fix, {w} warning(s)\n"),
        });
        out
    }
}

/// Runs every check for `config`, writing nothing anywhere.
pub async fn run(config: &Config) -> Report {
    let mut findings = Vec::new();
    // The embedder is built first (without calling it) for the dimension the table's
    // column must have; it is called last, once: a check reports, it does not retry.
    let mut once = config.clone();
    once.embedder.max_retries = 0;
    let embedder = embed::from_config(&once);
    let dims = embedder.as_ref().ok().map(|e| e.dimensions());
    match config.store_kind() {
        Some(StoreKind::Postgres(url)) => {
            findings.extend(crate::store::postgres::doctor::diagnose(&url, config, dims).await)
        }
        Some(StoreKind::Sqlite(path)) => {
            findings.extend(crate::store::sqlite::doctor::diagnose(&path, config, dims).await)
        }
        None => findings.push(Finding::fail(
            "database_url",
            format!(
                "{} is neither sqlite://PATH nor postgres://…",
                redact_url(&config.database_url)
            ),
            "set database_url (or DATABASE_URL, or --database-url)",
        )),
    }
    findings.push(match embedder {
        Ok(e) => provider(config, e.as_ref()).await,
        Err(e) => Finding::fail(
            "provider",
            format!("{e:#}"),
            "fix the [embedder] settings it names",
        ),
    });
    Report {
        database: redact_url(&config.database_url),
        ok: findings.iter().all(|f| f.level != Level::Fail),
        findings,
    }
}

/// How long the provider gets to embed one short text (its own retries included).
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(20);

/// Embeds one short text and checks the vector's size against the configured dimension.
async fn provider(config: &Config, embedder: &dyn Embedder) -> Finding {
    let e = &config.embedder;
    let what = match e.provider.as_str() {
        "openai" => format!("{} at {}", e.model, redact_url(&e.base_url)),
        _ => format!("{} ({})", e.model, e.provider),
    };
    let started = Instant::now();
    let texts = ["vecsync doctor: is the embedder reachable?".to_string()];
    let answer = tokio::time::timeout(PROVIDER_TIMEOUT, embedder.embed(&texts)).await;
    let ms = started.elapsed().as_millis();
    let expected = embedder.dimensions();
    match answer {
        Err(_) => Finding::fail(
            "provider",
            format!("{what} did not answer within {PROVIDER_TIMEOUT:?}"),
            "check embedder.base_url and that the server is up",
        ),
        Ok(Err(err)) => Finding::fail(
            "provider",
            format!("{what}: {err}"),
            "fix the setting the message names (embedder.*, the API key variable)",
        ),
        Ok(Ok(results)) => match results.into_iter().next() {
            Some(Ok(v)) if v.len() == expected => Finding::ok(
                "provider",
                format!("{what} answered in {ms} ms with a {expected}-dimension vector"),
            ),
            Some(Ok(v)) => Finding::fail(
                "provider",
                format!(
                    "{what} returned a {}-dimension vector but embedder.dimensions says {expected} (it ignores `dimensions`)",
                    v.len()
                ),
                format!(
                    "set embedder.dimensions = {} (with a vector({}) column), or use a model that supports `dimensions`",
                    v.len(),
                    v.len()
                ),
            ),
            Some(Err(reason)) => Finding::fail(
                "provider",
                format!("{what} refused a short test text: {reason}"),
                "check embedder.model and the provider's limits",
            ),
            None => Finding::fail(
                "provider",
                format!("{what} returned no vector"),
                "check embedder.base_url points at an embeddings API",
            ),
        },
    }
}

/// Queue counts as of a store's queue-health query.
pub struct QueueHealth {
    pub pending: i64,
    pub leased: i64,
    /// Rows whose lease ran out before their worker answered.
    pub expired: i64,
    pub failed: i64,
    /// The most common failure reason, and how many rows have it.
    pub top_failure: Option<String>,
    pub top_count: i64,
}

/// The `queue` findings every store reports: failed rows, expired leases, or all well.
pub fn queue_findings(q: &QueueHealth, out: &mut Vec<Finding>) {
    let counts = format!(
        "{} pending ({} leased), {} failed",
        q.pending, q.leased, q.failed
    );
    if q.failed > 0 {
        out.push(Finding::warn(
            "queue",
            format!(
                "{counts}; most common failure ({} rows): {}",
                q.top_count,
                q.top_failure.clone().unwrap_or_default()
            ),
            "`vecsync status` lists the failures; fix those rows (or the provider), then `vecsync retry-failed`",
        ));
    }
    if q.expired > 0 {
        out.push(Finding::warn(
            "queue",
            format!("{} rows were claimed by a worker that stopped before answering (lease expired)", q.expired),
            "nothing to do: the next `vecsync work`/`backfill` claims them again; if it keeps happening, look for workers being killed (memory, timeouts)",
        ));
    }
    if q.failed == 0 && q.expired == 0 {
        out.push(Finding::ok("queue", counts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_one_line_per_finding_and_exit_follows_failures() {
        let mut report = Report {
            database: "sqlite://x.db".into(),
            ok: true,
            findings: vec![
                Finding::ok("connection", "fine"),
                Finding::warn("queue", "2 rows failed", "vecsync retry-failed"),
            ],
        };
        assert_eq!(report.exit_status(), 0);
        let text = report.render_text();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.contains("warn  queue       2 rows failed -> vecsync retry-failed"));
        assert!(text.ends_with("nothing to fix; 1 warning(s)\n"), "{text}");
        report
            .findings
            .push(Finding::fail("privileges.status", "x\ny", "GRANT …"));
        report.ok = false;
        assert_eq!(report.exit_status(), 1);
        let text = report.render_text();
        assert_eq!(text.lines().count(), 5, "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["findings"][2]["level"], "fail");
        assert!(json["findings"][0].get("fix").is_none());
    }
}
