//! Secrets never leave the process. Every text that does — log lines (see
//! [`RedactingStderr`]), errors, HTTP answers, `status`, metrics — goes through [`redact`],
//! which replaces by `***`:
//!
//! - every registered secret ([`register`]): the database password, `PGPASSWORD`, the
//!   provider's key, `embedder.headers` values, `CRON_SECRET`, `METRICS_TOKEN`, in their
//!   plain and percent-encoded forms;
//! - and, registered or not, credentials recognisable by their form: the password of a
//!   URL (`postgres://u:PASSWORD@h/db`), `password=…`-style settings in a URL query, a
//!   libpq conninfo string, a header or JSON (`password=…`, `sslpassword '…'`,
//!   `"api_key": "…"`, `api-key: …`), `Bearer TOKEN`, and OpenAI-style `sk-…` keys.
//!
//! This module is a leaf: it knows no other part of vecsync. Secrets are registered when
//! they become known (the CLI after loading the config, the server at start, the OpenAI
//! client when it reads its key); the registry is process-wide so that a log line or an
//! error can be cleaned without knowing where it came from.

use std::io::Write;
use std::sync::RwLock;

/// What a secret is replaced by.
pub const MASK: &str = "***";

/// Shorter "secrets" are not registered: they would mask ordinary words, and are weak
/// anyway.
const MIN_SECRET_LEN: usize = 4;

/// Setting names whose value is a credential, in `key=value`, `key: value` or JSON form
/// (compared case-insensitively).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "sslpassword",
    "pgpassword",
    "api_key",
    "apikey",
    "api-key",
    "access_token",
    "client_secret",
    "cron_secret",
    "metrics_token",
];

static REGISTRY: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` (and its percent-encoded and percent-decoded forms) to the values
/// [`redact`] masks everywhere. Values shorter than 4 bytes are ignored.
pub fn register(secret: &str) {
    let mut registry = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
    add_secret(&mut registry, secret);
}

/// `text` with every registered secret and every recognisable credential masked.
pub fn redact(text: &str) -> String {
    let registry = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
    redact_with(&registry, text)
}

/// A connection URL that can be printed: its password and password-like query settings
/// masked. A URL that cannot be parsed shows only its scheme.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(_) => redact(url),
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "…".into(),
        },
    }
}

/// The credentials a connection URL carries, as the database sees them: the userinfo
/// password and password-like query settings (`?password=…`, `&sslpassword=…`).
pub fn url_secrets(url: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut out: Vec<String> = u.password().map(percent_decode).into_iter().collect();
    out.extend(
        u.query_pairs()
            .filter(|(k, _)| is_secret_key(k))
            .map(|(_, v)| v.into_owned()),
    );
    out
}

fn add_secret(registry: &mut Vec<String>, secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    for form in [
        secret.to_string(),
        percent_decode(secret),
        percent_encode(secret),
    ] {
        if form.len() >= MIN_SECRET_LEN && !registry.contains(&form) {
            registry.push(form);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    registry.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

fn redact_with(secrets: &[String], text: &str) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    let out = mask_url_passwords(&out);
    let out = mask_key_values(&out);
    let out = mask_after(&out, "Bearer ", |c| {
        c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
    });
    mask_openai_keys(&out)
}

/// `scheme://user:PASSWORD@host` → `scheme://user:***@host`. The userinfo ends at the
/// last `@` before whitespace, so a password holding `/`, `?`, `@` or quotes unencoded
/// is masked whole (an `@` later in the same word may mask a little more than needed).
fn mask_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let word = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let userinfo_end = tail[..word].rfind('@');
        let colon = userinfo_end.and_then(|at| tail[..at].find(':'));
        match (colon, userinfo_end) {
            (Some(colon), Some(at)) if colon + 1 < at => {
                out.push_str(&tail[..=colon]);
                out.push_str(MASK);
                rest = &tail[at..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// `password=VALUE`, `password = 'VALUE'`, `"api_key": "VALUE"`, `api-key: VALUE` → the
/// value masked. The key must start a word. When unsure where a value ends, more is
/// masked, never less.
fn mask_key_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_word_byte(bytes[i - 1]);
        let key_len = if starts_word {
            SECRET_KEYS.iter().map(|k| k.len()).find(|&n| {
                text.get(i..i + n).is_some_and(is_secret_key)
                    && bytes.get(i + n).is_none_or(|&b| !is_word_byte(b))
            })
        } else {
            None
        };
        let Some(n) = key_len else {
            i += 1;
            continue;
        };
        // Optional closing quote of a JSON key, spaces, the separator, spaces.
        let mut j = i + n;
        if matches!(bytes.get(j), Some(b'"') | Some(b'\'')) {
            j += 1;
        }
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        if !matches!(bytes.get(j), Some(b'=') | Some(b':')) {
            i += n;
            continue;
        }
        j += 1;
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        // `"password": …` (JSON, a literal of some language): the value is a string in
        // the same quotes, or a bare token. Otherwise libpq's rules: a single-quoted
        // string, or everything up to whitespace (a `"` is an ordinary character there).
        let key_quote = bytes
            .get(i + n)
            .filter(|&&q| (q == b'"' || q == b'\'') && i > 0 && bytes[i - 1] == q);
        let value_end = match (bytes.get(j), key_quote) {
            (Some(&q), Some(&kq)) if q == kq => {
                closing_quote(bytes, j, q).map_or(bytes.len(), |k| k + 1)
            }
            (Some(_), Some(_)) => (j..bytes.len())
                .find(|&k| bytes[k].is_ascii_whitespace() || b",}]".contains(&bytes[k]))
                .unwrap_or(bytes.len()),
            (Some(b'\''), None) => match closing_quote(bytes, j, b'\'') {
                Some(k) if bytes.get(k + 1).is_none_or(u8::is_ascii_whitespace) => k + 1,
                // Unclosed, or more follows the closing quote: up to whitespace.
                Some(k) => word_end(bytes, k + 1),
                None => word_end(bytes, j),
            },
            _ => bare_value_end(bytes, j),
        };
        if value_end > j {
            out.push_str(&text[copied..j]);
            out.push_str(MASK);
            copied = value_end;
        }
        i = value_end.max(i + n);
    }
    out.push_str(&text[copied..]);
    out
}

/// The index of the quote closing the string that opens at `start` (backslash escapes).
fn closing_quote(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut k = start + 1;
    while k < bytes.len() && bytes[k] != quote {
        k += if bytes[k] == b'\\' { 2 } else { 1 };
    }
    (k < bytes.len()).then_some(k)
}

/// The index of the first whitespace at or after `from` (or the end).
fn word_end(bytes: &[u8], from: usize) -> usize {
    (from..bytes.len())
        .find(|&k| bytes[k].is_ascii_whitespace())
        .unwrap_or(bytes.len())
}

/// Where a bare value starting at `start` ends: at whitespace (a libpq conninfo value
/// may hold any other character), or, inside a URL, at the `&` before the next query
/// setting. A `:` ending a URL is kept: it is the separator of an error message
/// (`postgres://h/db?password=***: password authentication failed`), which at worst
/// leaves one known character of a password in view.
fn bare_value_end(bytes: &[u8], start: usize) -> usize {
    let word_start = bytes[..start]
        .iter()
        .rposition(|b| b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    let in_url = bytes[word_start..start].windows(3).any(|w| w == b"://");
    let mut k = start;
    while k < bytes.len() && !bytes[k].is_ascii_whitespace() && !(in_url && bytes[k] == b'&') {
        k += 1;
    }
    if in_url && k > start + 1 && bytes[k - 1] == b':' {
        k -= 1;
    }
    k
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `PREFIX` followed by a run of `part` characters → `PREFIX***`.
fn mask_after(text: &str, prefix: &str, part: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(prefix) {
        out.push_str(&rest[..pos + prefix.len()]);
        let after = &rest[pos + prefix.len()..];
        let end = after.find(|c: char| !part(c)).unwrap_or(after.len());
        if end > 0 {
            out.push_str(MASK);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// OpenAI keys, whole or as echoed masked by the API (`sk-abc***xyz`) → `sk-***`, where
/// `sk-` starts a word.
fn mask_openai_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("sk-") {
        let starts_word = rest[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        out.push_str(&rest[..pos + 3]);
        let after = &rest[pos + 3..];
        if !starts_word {
            rest = after;
            continue;
        }
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_*.".contains(c)))
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str(MASK);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The value as the database sees it (a URL holds it percent-encoded).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The value as a URL's userinfo holds it (what `url` writes for a password).
fn percent_encode(s: &str) -> String {
    let mut u = url::Url::parse("x://u@h").expect("a valid URL");
    match u.set_password(Some(s)) {
        Ok(()) => u.password().unwrap_or(s).to_string(),
        Err(()) => s.to_string(),
    }
}

/// `tracing` output to stderr, each event cleaned by [`redact`] before it is written
/// (`tracing_subscriber::fmt().with_writer(RedactingStderr)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

/// One event's text, written (cleaned) to stderr when dropped.
pub struct RedactedEvent(Vec<u8>);

impl Write for RedactedEvent {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedEvent {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let text = redact(&String::from_utf8_lossy(&self.0));
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactedEvent;

    fn make_writer(&'a self) -> RedactedEvent {
        RedactedEvent(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn clean(text: &str) -> String {
        redact_with(&[], text)
    }

    /// `value` as a libpq conninfo string writes it: bare, or single-quoted with `\'` and
    /// `\\` escapes when it is empty or holds whitespace, a quote or a backslash.
    fn conninfo_quote(value: &str) -> String {
        if !value.is_empty()
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
        {
            return value.to_string();
        }
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    #[test]
    fn every_form_of_a_database_password() {
        for (text, want) in [
            (
                "cannot connect to postgres://app:s3cret@db:5432/jobs",
                "cannot connect to postgres://app:***@db:5432/jobs",
            ),
            (
                "postgres://app@db/jobs?password=s3cret&sslmode=require",
                "postgres://app@db/jobs?password=***&sslmode=require",
            ),
            (
                "host=db user=app password='s3 cr\\'et' dbname=jobs",
                "host=db user=app password=*** dbname=jobs",
            ),
            (
                "host=db sslpassword = s3cret dbname=jobs",
                "host=db sslpassword = *** dbname=jobs",
            ),
            ("PGPASSWORD=s3cret psql", "PGPASSWORD=*** psql"),
            (
                r#"{"api_key": "s3cret", "model": "m"}"#,
                r#"{"api_key": ***, "model": "m"}"#,
            ),
            ("api-key: s3cret", "api-key: ***"),
            (
                "Authorization: Bearer abc.DEF-123=",
                "Authorization: Bearer ***",
            ),
            (
                "Incorrect API key provided: sk-abc***xyz, ok, task-list",
                "Incorrect API key provided: sk-***, ok, task-list",
            ),
        ] {
            assert_eq!(clean(text), want, "{text}");
        }
    }

    #[test]
    fn the_separator_after_a_url_is_kept() {
        assert_eq!(
            clean("connecting to postgres://app@db/breaktest_1?password=s3cret: password authentication failed"),
            "connecting to postgres://app@db/breaktest_1?password=***: password authentication failed"
        );
        // Also when the password was registered (masked before the URL rules run).
        assert_eq!(
            redact_with(
                &["s3cret".to_string()],
                "postgres://app@db/jobs?sslmode=require&password=s3cret: timed out"
            ),
            "postgres://app@db/jobs?sslmode=require&password=***: timed out"
        );
    }

    #[test]
    fn ordinary_text_is_kept() {
        for text in [
            "password authentication failed for user \"app\"",
            "send Authorization: Bearer <CRON_SECRET>",
            "the bearer token, 40 tokens per minute, task-list, https://example.com/v1",
            "postgres://app@db:5432/jobs?sslmode=require",
            "mypassword=x is not a password setting",
        ] {
            assert_eq!(clean(text), text);
        }
    }

    #[test]
    fn registered_secrets_in_every_encoding() {
        let mut registry = Vec::new();
        add_secret(&mut registry, "p@ss word");
        add_secret(&mut registry, "abc"); // too short: ignored
        assert_eq!(registry.len(), 2, "{registry:?}");
        let out = redact_with(&registry, "a p@ss word, b p%40ss%20word, c abc");
        assert_eq!(out, "a ***, b ***, c abc");
    }

    #[test]
    fn url_secrets_as_the_database_sees_them() {
        assert_eq!(
            url_secrets("postgres://u:p%40ss@h/db?sslpassword=k%20ey&sslmode=require"),
            ["p@ss", "k ey"]
        );
        assert!(url_secrets("not a url password=x").is_empty());
        assert_eq!(redact_url("nonsense s3cret"), "…");
        assert_eq!(
            redact_url("postgresql://u:s3cret@h/db"),
            "postgresql://u:***@h/db"
        );
    }

    fn plain() -> impl Strategy<Value = String> {
        "[a-z0-9 .,()]{0,30}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn url_passwords_are_masked(password in "\\PC{1,30}", before in plain(), after in plain()) {
            let mut url = url::Url::parse("postgres://app@db.example:5432/jobs?sslmode=require").unwrap();
            url.set_password(Some(&password)).unwrap();
            let text = format!("{before} {url} {after}");
            prop_assert_eq!(
                clean(&text),
                format!("{before} postgres://app:***@db.example:5432/jobs?sslmode=require {after}")
            );
        }

        #[test]
        fn query_passwords_are_masked(password in "\\PC{1,30}", before in plain()) {
            let value: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
            let text = format!("{before} postgres://app@db/jobs?sslmode=require&password={value}&application_name=x");
            prop_assert_eq!(
                clean(&text),
                format!("{before} postgres://app@db/jobs?sslmode=require&password=***&application_name=x")
            );
        }

        #[test]
        fn conninfo_passwords_are_masked(password in "\\PC{0,30}", key in "(password|sslpassword|PASSWORD)") {
            let text = format!("host=db user=app {key}={} dbname=jobs", conninfo_quote(&password));
            prop_assert_eq!(clean(&text), format!("host=db user=app {key}=*** dbname=jobs"));
        }

        #[test]
        fn registered_secrets_never_show(secret in "\\PC{4,40}", before in plain(), after in plain()) {
            prop_assume!(secret.trim() == secret && !secret.contains(MASK));
            let mut registry = Vec::new();
            add_secret(&mut registry, &secret);
            let out = redact_with(&registry, &format!("{before} {secret} {after}"));
            prop_assert!(!out.contains(&secret), "{out}");
            prop_assert!(out.starts_with(&before) && out.contains(MASK), "{out}");
        }

        #[test]
        fn plain_text_is_unchanged(text in plain()) {
            prop_assert_eq!(clean(&text), text);
        }

        #[test]
        fn redaction_is_idempotent(text in "(\\PC|password=|://|:|@| |'|Bearer |sk-){0,40}") {
            let once = clean(&text);
            prop_assert_eq!(clean(&once), once.clone());
        }
    }
}
