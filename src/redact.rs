//! Secrets never leave the process: every text that does (log lines, errors, HTTP answers,
//! `status`) goes through [`redact`], which replaces each registered secret by `***`.
//!
//! Secrets are registered once, when they become known (the database password, the
//! provider's key, the server's tokens); the registry is process-wide so that a log line
//! or an error can be cleaned without knowing where it came from.

use std::sync::RwLock;

/// What a secret is replaced by.
pub const MASK: &str = "***";

/// Shorter "secrets" are not registered: they would mask ordinary words, and are weak
/// anyway.
const MIN_SECRET_LEN: usize = 4;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` to the values [`redact`] masks (ignored when shorter than 4 bytes).
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}
