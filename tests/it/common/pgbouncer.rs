//! pgbouncer in transaction mode, with TLS offered, in front of the test server
//! (`scripts/start-pgbouncer.sh`, started once per test process; idempotent): what
//! Supabase's pooler on port 6543 looks like to vecsync.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::postgres::{server_url, url_for_db};

/// The pooler's URL (the `postgres` database), starting pgbouncer if needed.
pub fn pooler_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/start-pgbouncer.sh");
        let out = Command::new("bash")
            .arg(script)
            .env("VECSYNC_TEST_DATABASE_URL", server_url())
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("cannot run scripts/start-pgbouncer.sh");
        assert!(
            out.status.success(),
            "scripts/start-pgbouncer.sh failed ({})",
            out.status
        );
        let url = String::from_utf8(out.stdout).expect("utf-8 URL");
        let url = url.trim().to_string();
        assert!(url.starts_with("postgres://"), "unexpected output {url:?}");
        url
    })
    .clone()
}

/// The URL of database `db` of the test server, through the pooler.
pub fn via_pooler(db: &str) -> String {
    url_for_db(&pooler_url(), db)
}

/// The pooler's TLS certificate: self-signed for CN=localhost (CA:TRUE, no
/// subjectAltName), what `openssl req -x509` makes. In the script's state directory, which
/// follows the upstream server's port.
pub fn pooler_certificate() -> PathBuf {
    pooler_url();
    let upstream = url::Url::parse(&server_url()).expect("server URL");
    std::env::var_os("VECSYNC_PGBOUNCER_STATE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "vecsync-pgbouncer-{}",
                upstream.port().expect("server URL with a port")
            ))
        })
        .join("server.crt")
}
