//! Settings: `vecsync.toml`, overridden by environment variables and then by flags.
//!
//! Every setting has a default that matches `vecsync demo`, so a new user can run any
//! command against the demo database without writing a file first.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::redact::redact_url;

/// A mistake in the user's setup (a setting, a table, a column, a missing file): the
/// CLI prints it on one line and exits with status 2.
///
/// `setting` names what is wrong (`source.table`, `embedder.model`, `serve --bind`, or a
/// file location such as `vecsync.toml:3`); `message` says what is wrong with it and what
/// to do. Displayed as `setting: message` (just `message` when no setting applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            setting: setting.into(),
            message: message.into(),
        }
    }

    /// Reads `"setting: message"` text, the form [`config_error!`] takes without
    /// `setting =`: the setting is what comes before the first `": "`.
    pub fn from_text(text: impl Into<String>) -> ConfigError {
        let text = text.into();
        match text.split_once(": ") {
            Some((setting, message)) => ConfigError::new(setting, message),
            None => ConfigError::new("", text),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.setting.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.setting, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Builds an `anyhow::Error` wrapping a [`ConfigError`](crate::config::ConfigError).
///
/// - `config_error!(setting = "embedder.model", "{model:?} is not served here")` names the
///   setting apart from the message; new code uses this form.
/// - `config_error!("embedder.model: {model:?} is not served here")` is one formatted
///   text whose setting is everything before the first `": "` (see
///   [`ConfigError::from_text`](crate::config::ConfigError::from_text)).
#[macro_export]
macro_rules! config_error {
    (setting = $setting:expr, $($arg:tt)+) => {
        anyhow::Error::new($crate::config::ConfigError::new($setting, format!($($arg)+)))
    };
    ($($arg:tt)+) => {
        anyhow::Error::new($crate::config::ConfigError::from_text(format!($($arg)+)))
    };
}

pub const DEFAULT_CONFIG_FILE: &str = "vecsync.toml";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…` (env `DATABASE_URL`, flag `--database-url`).
    pub database_url: String,
    /// PostgreSQL: a direct (or session-mode) URL to the same database, for `work`'s
    /// `LISTEN` when `database_url` is a connection pooler in transaction mode (env
    /// `DIRECT_URL`, as Prisma and Supabase call it).
    pub listen_url: Option<String>,
    /// Schema that holds vecsync's own objects in PostgreSQL.
    pub schema: String,
    pub source: SourceConfig,
    pub embedder: EmbedderConfig,
    /// The model `vecsync migrate` moves to (same keys as `[embedder]`); see
    /// `docs/migration.md`. `[embedder]` stays the live model until the switch.
    pub next_embedder: Option<EmbedderConfig>,
    pub worker: WorkerConfig,
    pub server: ServerConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// `table` or `schema.table`.
    pub table: String,
    pub id_column: String,
    /// Columns in braces, e.g. `{title} at {company}`; `{{` and `}}` are literal braces.
    pub template: String,
    pub embedding_column: String,
    /// Optional SQL boolean expression: only rows for which it is true are embedded.
    /// It is the operator's own SQL and is used as written (wrapped in parentheses).
    pub filter: Option<String>,
    /// Columns shown next to search results.
    pub display_columns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbedderConfig {
    /// `local` (built-in all-MiniLM-L6-v2), `openai` (any OpenAI-compatible API) or
    /// `fake` (deterministic hash vectors, for tests and write-path benchmarks).
    pub provider: String,
    pub model: String,
    /// Texts per model call (local) — the OpenAI provider packs by `max_inputs_per_request`.
    pub batch_size: usize,
    /// Folder with tokenizer.json and the ONNX graphs (env `VECSYNC_MODEL_DIR`).
    pub model_dir: Option<PathBuf>,
    /// Threads for the local model; 0 = all cores.
    pub threads: usize,
    /// Local model weights: `none` (float32, the default) or `int8` (dynamic int8
    /// quantization: faster, vectors within cosine 0.999 of float32's).
    pub quantize: String,
    /// The onnxruntime library the local model runs on; default: env `ORT_DYLIB_PATH`,
    /// else `libonnxruntime.so` in the model folder (put there by scripts/fetch-model.sh).
    pub onnxruntime: Option<PathBuf>,

    // OpenAI-compatible provider.
    pub base_url: String,
    /// Name of the environment variable that holds the key; never the key itself.
    pub api_key_env: String,
    /// Output dimensions: sent as `dimensions` to the API; required by `fake`.
    pub dimensions: Option<usize>,
    pub max_inputs_per_request: usize,
    pub max_tokens_per_request: usize,
    pub max_concurrency: usize,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub price_per_million_tokens: Option<f64>,
    /// Per-request timeout.
    pub timeout_seconds: u64,
    /// Retries of one request on 429/5xx/timeouts before the batch counts as an attempt.
    pub max_retries: u32,
    /// Azure OpenAI: sends `api-key` instead of `Authorization: Bearer` and adds `api-version`.
    pub azure_api_version: Option<String>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// A row that failed this many times is marked `failed` until `retry-failed`.
    pub max_attempts: u32,
    /// How long a claimed batch stays reserved for its worker before others may take it.
    pub lease_seconds: u64,
    /// Batches in flight at once (claim/embed/write overlap).
    pub concurrency: usize,
    /// Rows per claim; defaults to the embedder's batch size.
    pub claim_size: Option<usize>,
    /// Safety-net poll interval of `vecsync work` next to LISTEN/NOTIFY.
    pub poll_seconds: u64,
}

/// `vecsync serve`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// On a non-loopback bind, `/api/search` requests per minute per client address.
    pub search_per_minute: u32,
    /// … and how many of them a client may make at once.
    pub search_burst: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            search_per_minute: 60,
            search_burst: 10,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://vecsync.db".into(),
            listen_url: None,
            schema: "vecsync".into(),
            source: SourceConfig::default(),
            embedder: EmbedderConfig::default(),
            next_embedder: None,
            worker: WorkerConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            table: "jobs".into(),
            id_column: "id".into(),
            template: "{title} at {company}\n{location}\n\n{description}".into(),
            embedding_column: "embedding".into(),
            filter: None,
            display_columns: vec!["title".into(), "company".into(), "location".into()],
        }
    }
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        EmbedderConfig {
            provider: "local".into(),
            model: "all-MiniLM-L6-v2".into(),
            batch_size: 32,
            model_dir: None,
            threads: 0,
            quantize: "none".into(),
            onnxruntime: None,
            base_url: "https://api.openai.com/v1".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            dimensions: None,
            max_inputs_per_request: 2048,
            max_tokens_per_request: 300_000,
            max_concurrency: 8,
            requests_per_minute: None,
            tokens_per_minute: None,
            price_per_million_tokens: None,
            timeout_seconds: 60,
            max_retries: 8,
            azure_api_version: None,
            headers: BTreeMap::new(),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_attempts: 5,
            lease_seconds: 300,
            concurrency: 2,
            claim_size: None,
            poll_seconds: 5,
        }
    }
}

impl EmbedderConfig {
    /// The identity recorded next to every vector: a vector made by another model (or
    /// with other dimensions) is stale.
    pub fn model_id(&self) -> String {
        match (self.provider.as_str(), self.dimensions) {
            ("openai", Some(d)) | ("fake", Some(d)) => format!("{}:{}", self.model, d),
            _ => self.model.clone(),
        }
    }
}

impl Config {
    /// Every credential this config holds or points at, as the process sees it: the
    /// passwords and password settings of `database_url` and `listen_url`, `PGPASSWORD`, the
    /// provider's key (the variable `embedder.api_key_env` names) and the values of
    /// `embedder.headers` (and the same of `[next_embedder]`). Register them with
    /// [`crate::redact::register`] before printing anything.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = crate::redact::url_secrets(&self.database_url);
        if let Some(url) = &self.listen_url {
            out.extend(crate::redact::url_secrets(url));
        }
        let embedders = std::iter::once(&self.embedder).chain(&self.next_embedder);
        let key_vars = embedders.clone().map(|e| e.api_key_env.trim());
        for var in std::iter::once("PGPASSWORD").chain(key_vars) {
            if let Some(v) = std::env::var_os(var).filter(|_| !var.is_empty()) {
                out.push(v.to_string_lossy().into_owned());
            }
        }
        out.extend(embedders.flat_map(|e| e.headers.values().cloned()));
        out
    }
}

/// Overrides that come from flags (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub model_dir: Option<PathBuf>,
    pub batch_size: Option<usize>,
}

impl Config {
    /// Parses TOML text. Errors name the setting.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // serde_path_to_error: toml's own message of a wrong type ("invalid type: string
        // \"16\", expected usize") does not say which setting it is.
        serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
            let path = e.path().to_string();
            let e = e.into_inner();
            let msg = match e.message().trim() {
                m if path.is_empty() || path == "." || m.contains(&path) => m.to_string(),
                m => format!("{path}: {m}"),
            };
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => ConfigError::new(format!("{origin}:{l}"), msg),
                None => ConfigError::new(origin, msg),
            }
        })
    }

    /// Loads `path` (or `vecsync.toml` in the working directory if it exists), then `.env`,
    /// then environment variables, then `overrides`, and validates the result.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        // .env first so that DATABASE_URL etc. can come from it; real env vars win.
        let _ = dotenvy::dotenv();
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut config = match file {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    ConfigError::new("", format!("cannot read config file {}: {e}", p.display()))
                })?;
                Config::from_toml(&text, &p.display().to_string())?
            }
            None => Config::default(),
        };
        if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            config.database_url = url;
        }
        if let Some(url) = std::env::var("DIRECT_URL").ok().filter(|u| !u.is_empty()) {
            config.listen_url = Some(url);
        }
        if let Some(url) = &overrides.database_url {
            config.database_url = url.clone();
        }
        config.apply_model_dir(overrides);
        if let Some(n) = overrides.batch_size {
            config.embedder.batch_size = n;
        }
        config.validate()?;
        Ok(config)
    }

    /// The local model folder from `VECSYNC_MODEL_DIR`, then `--model-dir` (which wins).
    pub fn apply_model_dir(&mut self, overrides: &Overrides) {
        if let Some(dir) = std::env::var_os("VECSYNC_MODEL_DIR").filter(|d| !d.is_empty()) {
            self.embedder.model_dir = Some(PathBuf::from(dir));
        }
        if let Some(dir) = &overrides.model_dir {
            self.embedder.model_dir = Some(dir.clone());
        }
        // `[next_embedder]` gets the same folder unless it names one of its own.
        let dir = overrides.model_dir.clone().or_else(|| {
            std::env::var_os("VECSYNC_MODEL_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        });
        if let (Some(dir), Some(next)) = (dir, self.next_embedder.as_mut()) {
            next.model_dir.get_or_insert(dir);
        }
    }

    /// Checks what can be checked without a database or a model.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |setting: &str, message: String| Err(ConfigError::new(setting, message));
        match self.store_kind() {
            Some(_) => {}
            None => {
                return err(
                    "database_url",
                    format!(
                        "expected sqlite://PATH or postgres://…, got {:?}",
                        redact_url(&self.database_url)
                    ),
                )
            }
        }
        if let Some(url) = &self.listen_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return err(
                    "listen_url",
                    format!(
                        "expected postgres://… (a direct connection to the database of database_url), got {:?}",
                        redact_url(url)
                    ),
                );
            }
        }
        validate_qualified_identifier("source.table", &self.source.table)?;
        validate_identifier("source.id_column", &self.source.id_column)?;
        validate_identifier("source.embedding_column", &self.source.embedding_column)?;
        validate_identifier("schema", &self.schema)?;
        for c in &self.source.display_columns {
            validate_identifier("source.display_columns", c)?;
        }
        let template = crate::template::Template::parse(&self.source.template)
            .map_err(|e| ConfigError::new("source.template", e.to_string()))?;
        for c in template.columns() {
            validate_identifier("source.template", c)?;
        }
        if let Some(f) = &self.source.filter {
            if f.trim().is_empty() {
                return err(
                    "source.filter",
                    "is empty; remove it or give a SQL condition".into(),
                );
            }
            if f.contains(';') {
                return err(
                    "source.filter",
                    "must be one SQL expression (no ';')".into(),
                );
            }
        }
        match self.embedder.provider.as_str() {
            "local" | "openai" | "fake" => {}
            other => {
                return err(
                    "embedder.provider",
                    format!(
                        "unknown provider {other:?} (expected \"local\", \"openai\" or \"fake\")"
                    ),
                )
            }
        }
        // The local embedder runs one model; any other name would be recorded with its
        // vectors while MiniLM made them.
        if self.embedder.provider == "local" && self.embedder.model != crate::embed::local::MODEL_ID
        {
            return err(
                "embedder.model",
                format!(
                    "the local embedder runs only {:?}, not {:?}; use that name, or provider = \"openai\" for other models",
                    crate::embed::local::MODEL_ID,
                    self.embedder.model
                ),
            );
        }
        if self.embedder.provider == "fake" && self.embedder.dimensions.is_none() {
            return err(
                "embedder.dimensions",
                "required for provider \"fake\"".into(),
            );
        }
        if !matches!(self.embedder.quantize.as_str(), "none" | "int8") {
            return err(
                "embedder.quantize",
                format!(
                    "unknown value {:?} (expected \"none\" or \"int8\")",
                    self.embedder.quantize
                ),
            );
        }
        if self.embedder.batch_size == 0 {
            return err("embedder.batch_size", "must be at least 1".into());
        }
        if self.embedder.dimensions == Some(0) {
            return err("embedder.dimensions", "must be at least 1".into());
        }
        if self.embedder.max_inputs_per_request == 0 {
            return err(
                "embedder.max_inputs_per_request",
                "must be at least 1".into(),
            );
        }
        if self.embedder.max_concurrency == 0 {
            return err("embedder.max_concurrency", "must be at least 1".into());
        }
        if self.worker.max_attempts == 0 {
            return err("worker.max_attempts", "must be at least 1".into());
        }
        if self.worker.lease_seconds == 0 {
            return err("worker.lease_seconds", "must be at least 1".into());
        }
        if self.worker.concurrency == 0 {
            return err("worker.concurrency", "must be at least 1".into());
        }
        if self.worker.claim_size == Some(0) {
            return err("worker.claim_size", "must be at least 1".into());
        }
        if self.server.search_per_minute == 0 {
            return err("server.search_per_minute", "must be at least 1".into());
        }
        if self.server.search_burst == 0 {
            return err("server.search_burst", "must be at least 1".into());
        }
        // `[next_embedder]` passes the same checks as `[embedder]`, and its errors name it.
        if let Some(next) = &self.next_embedder {
            let as_live = Config {
                embedder: next.clone(),
                next_embedder: None,
                ..self.clone()
            };
            as_live
                .validate()
                .map_err(|e| match e.setting.strip_prefix("embedder.") {
                    Some(rest) => ConfigError::new(format!("next_embedder.{rest}"), e.message),
                    None => e,
                })?;
        }
        Ok(())
    }

    pub fn store_kind(&self) -> Option<StoreKind> {
        let url = self.database_url.as_str();
        if let Some(path) = url.strip_prefix("sqlite://") {
            Some(StoreKind::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(StoreKind::Postgres(url.to_string()))
        } else if url.ends_with(".db") || url.ends_with(".sqlite") || url.ends_with(".sqlite3") {
            Some(StoreKind::Sqlite(PathBuf::from(url)))
        } else {
            None
        }
    }

    /// Rows per claim.
    pub fn claim_size(&self) -> usize {
        self.worker
            .claim_size
            .unwrap_or(match self.embedder.provider.as_str() {
                "local" => self.embedder.batch_size,
                _ => self.embedder.batch_size.max(256),
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Identifiers from config: letters, digits and `_`, not starting with a digit, at most
/// 63 bytes (PostgreSQL's limit). They are always quoted when used, so case is kept; a
/// name with quotes, semicolons or spaces is refused rather than escaped.
pub fn validate_identifier(setting: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            setting,
            format!("{name:?} is not a valid identifier (use letters, digits and _, at most 63 characters)"),
        ))
    }
}

/// `table` or `schema.table`.
pub fn validate_qualified_identifier(setting: &str, name: &str) -> Result<(), ConfigError> {
    let mut parts = name.splitn(2, '.');
    let first = parts.next().unwrap_or_default();
    validate_identifier(setting, first).map_err(|_| bad_qualified(setting, name))?;
    if let Some(second) = parts.next() {
        validate_identifier(setting, second).map_err(|_| bad_qualified(setting, name))?;
    }
    Ok(())
}

fn bad_qualified(setting: &str, name: &str) -> ConfigError {
    ConfigError::new(
        setting,
        format!(
            "{name:?} is not a valid table name (use table or schema.table; letters, digits and _)"
        ),
    )
}

/// Double-quotes an identifier that passed [`validate_identifier`] (quotes doubled anyway,
/// so that a future caller that skips validation still cannot inject).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes `table` or `schema.table`.
pub fn quote_qualified(name: &str) -> String {
    name.splitn(2, '.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn unknown_key_names_setting() {
        let e = Config::from_toml("[source]\ntabel = \"x\"\n", "vecsync.toml").unwrap_err();
        assert!(e.message.contains("tabel"), "{e}");
        assert_eq!(e.setting, "vecsync.toml:2", "{e}");
        assert!(e.to_string().starts_with("vecsync.toml:2: "), "{e}");
    }

    #[test]
    fn bad_identifiers_are_refused() {
        for bad in ["jobs; drop table x", "jo\"bs", "my table", "", "1abc"] {
            let mut c = Config::default();
            c.source.table = bad.into();
            let e = c.validate().unwrap_err();
            assert_eq!(e.setting, "source.table", "{e}");
            assert!(e.to_string().starts_with("source.table: "), "{e}");
        }
        let mut c = Config::default();
        c.source.embedding_column = "emb\"; --".into();
        assert_eq!(c.validate().unwrap_err().setting, "source.embedding_column");
        let mut c = Config::default();
        c.source.template = "{title} {bad col}".into();
        assert_eq!(c.validate().unwrap_err().setting, "source.template");
    }

    #[test]
    fn config_error_macro_forms() {
        let d = 7;
        let text = crate::config_error!(setting = "embedder.dimensions", "got {d}: too many");
        let e = text.downcast_ref::<ConfigError>().unwrap();
        assert_eq!(
            e,
            &ConfigError::new("embedder.dimensions", "got 7: too many")
        );
        assert_eq!(e.to_string(), "embedder.dimensions: got 7: too many");
        let named = crate::config_error!(setting = "embedder.dimensions", "got {d}: too many");
        assert_eq!(named.downcast_ref::<ConfigError>(), Some(e));
        let bare = crate::config_error!("no setting here");
        let e = bare.downcast_ref::<ConfigError>().unwrap();
        assert_eq!(
            (e.setting.as_str(), e.to_string()),
            ("", "no setting here".into())
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_qualified("public.Jobs"), "\"public\".\"Jobs\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn redacts_password() {
        let r = redact_url("postgres://u:s3cret@localhost:5432/db");
        assert!(!r.contains("s3cret"));
        assert!(r.contains("***"));
        assert!(!redact_url("nonsense s3cret").contains("s3cret"));
    }

    #[test]
    fn secrets_of_a_config() {
        let mut c = Config {
            database_url: "postgres://u:p%40ss@h/db?sslpassword=k3y-pass".into(),
            listen_url: Some("postgres://u:d1rect-pass@h:5432/db".into()),
            ..Config::default()
        };
        c.embedder.api_key_env = "VECSYNC_TEST_CONFIG_SECRET_UNSET".into();
        c.embedder
            .headers
            .insert("X-Org-Token".into(), "org-t0ken".into());
        let secrets = c.secrets();
        for want in ["p@ss", "k3y-pass", "org-t0ken", "d1rect-pass"] {
            assert!(secrets.iter().any(|s| s == want), "{want} in {secrets:?}");
        }
    }

    #[test]
    fn next_embedder_is_checked_like_embedder() {
        let c = Config {
            next_embedder: Some(EmbedderConfig {
                provider: "fake".into(),
                ..EmbedderConfig::default()
            }),
            ..Config::default()
        };
        let e = c.validate().unwrap_err();
        assert_eq!(e.setting, "next_embedder.dimensions", "{e}");
        let c = Config::from_toml("[next_embedder]\nmodle = \"x\"\n", "vecsync.toml").unwrap_err();
        assert!(c.to_string().contains("modle"), "{c}");
    }

    #[test]
    fn local_provider_runs_only_its_model() {
        let mut c = Config::default();
        c.embedder.model = "bge-small-en-v1.5".into();
        let e = c.validate().unwrap_err();
        assert_eq!(e.setting, "embedder.model");
        assert!(
            e.message.contains("bge-small-en-v1.5") && e.message.contains("all-MiniLM-L6-v2"),
            "{e}"
        );
        c.embedder.provider = "openai".into();
        c.validate().unwrap();
    }

    #[test]
    fn unknown_provider() {
        let mut c = Config::default();
        c.embedder.provider = "cohere".into();
        assert_eq!(c.validate().unwrap_err().setting, "embedder.provider");
    }
}
