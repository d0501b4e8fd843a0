//! `sslmode` against a real TLS endpoint: pgbouncer terminates TLS in front of the test
//! server (built without SSL), the way Supabase's pooler does, with the certificate
//! `openssl req -x509 -subj /CN=localhost` makes (self-signed, CA:TRUE, no
//! subjectAltName). libpq (psql) accepts it for `verify-full` to `localhost`; so must
//! vecsync. The chain-of-trust cases with a separate CA are unit tests in
//! `src/store/postgres/tls.rs`.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::pgbouncer::{openssl_self_signed, Pgbouncer};
use common::postgres::{pg_db, PgTestDb};
use common::{TestDb, DIMS};
use vecsync::config::{Config, ConfigError};
use vecsync::store::postgres::PostgresStore;
use vecsync::store::StoreOptions;

/// The URL of `db` through `bouncer`, with `host` and `query`.
fn url(db: &PgTestDb, bouncer: &Pgbouncer, host: &str, query: &str) -> String {
    let mut u = url::Url::parse(&bouncer.url(&db.db.name)).unwrap();
    u.set_host(Some(host)).unwrap();
    u.set_query(Some(query));
    u.to_string()
}

fn config(db: &PgTestDb, url: String) -> Config {
    let mut c = db.config();
    c.database_url = url;
    c
}

/// Connects and runs `status`; the error text when that fails.
async fn connect(db: &PgTestDb, url: String) -> Result<u64, String> {
    let c = config(db, url);
    let store = PostgresStore::connect(
        &c.database_url,
        &c.schema,
        &c.source,
        StoreOptions::from_config(&c),
    )
    .await
    .map_err(|e| {
        let msg = e
            .downcast_ref::<ConfigError>()
            .unwrap_or_else(|| panic!("a TLS refusal is a setup error, got {e:#}"))
            .to_string();
        assert!(!msg.contains(&password(db)), "{msg}");
        msg
    })?;
    use vecsync::store::Store;
    store.prepare(DIMS).await.map_err(|e| format!("{e:#}"))?;
    Ok(store.status().await.map_err(|e| format!("{e:#}"))?.total)
}

fn password(db: &PgTestDb) -> String {
    url::Url::parse(&db.db.url)
        .unwrap()
        .password()
        .unwrap()
        .to_string()
}

/// Another self-signed certificate for CN=localhost: the wrong root.
fn wrong_ca(dir: &Path) -> String {
    let crt = dir.join("wrong.crt");
    openssl_self_signed(&dir.join("wrong.key"), &crt);
    crt.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmodes_against_a_real_tls_endpoint() {
    let db = pg_db(7, DIMS).await;
    let bouncer = Pgbouncer::start();
    let right = bouncer.certificate();
    let right = right.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let wrong = wrong_ca(tmp.path());

    // Accepted: what libpq accepts.
    for (host, query) in [
        ("127.0.0.1", "sslmode=disable".to_string()),
        ("127.0.0.1", "sslmode=require".to_string()),
        ("127.0.0.1", format!("sslmode=require&sslrootcert={right}")),
        (
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={right}"),
        ),
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={right}"),
        ),
    ] {
        let got = connect(&db, url(&db, &bouncer, host, &query)).await;
        assert_eq!(got, Ok(7), "{host} {query}");
    }

    // Refused, with one line that names what to look at.
    let refused = |got: Result<u64, String>, needles: &[&str]| {
        let msg = got.expect_err("must be refused");
        println!("refused: {msg}");
        assert!(msg.starts_with("database_url: "), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        for n in needles {
            assert!(msg.contains(n), "{msg:?} should say {n:?}");
        }
    };
    let wrong_root = format!("sslrootcert={wrong}");
    refused(
        connect(
            &db,
            url(
                &db,
                &bouncer,
                "localhost",
                &format!("sslmode=verify-full&{wrong_root}"),
            ),
        )
        .await,
        &["not trusted by", &wrong_root, "sslmode=verify-full"],
    );
    refused(
        connect(
            &db,
            url(
                &db,
                &bouncer,
                "127.0.0.1",
                &format!("sslmode=verify-ca&{wrong_root}"),
            ),
        )
        .await,
        &["not trusted by", &wrong_root, "sslmode=verify-ca"],
    );
    // libpq: `require` with a root certificate checks the chain like verify-ca.
    refused(
        connect(
            &db,
            url(
                &db,
                &bouncer,
                "127.0.0.1",
                &format!("sslmode=require&{wrong_root}"),
            ),
        )
        .await,
        &["not trusted by", &wrong_root],
    );
    refused(
        connect(
            &db,
            url(
                &db,
                &bouncer,
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={right}"),
            ),
        )
        .await,
        &["is for localhost, not 127.0.0.1", "sslmode=verify-full"],
    );
    // No sslrootcert: the system's roots do not know a self-signed certificate.
    refused(
        connect(&db, url(&db, &bouncer, "localhost", "sslmode=verify-full")).await,
        &["not trusted by the system's root certificates"],
    );
}

/// The whole flow over TLS through the pooler, and the CLI's exit status and single line
/// when the certificate is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_over_verify_full_and_a_refusal_from_the_cli() {
    let db = pg_db(40, DIMS).await;
    let bouncer = Pgbouncer::start();
    let right = bouncer.certificate();
    let mut c = config(
        &db,
        url(
            &db,
            &bouncer,
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={}", right.display()),
        ),
    );
    let summary = common::backfill_with(
        vecsync::store::open(&c).await.unwrap(),
        common::fake_embedder(&c),
        &c,
    )
    .await
    .unwrap();
    assert_eq!(summary.written, 40);
    assert_eq!(
        db.scalar("SELECT count(*) FROM jobs WHERE embedding IS NOT NULL")
            .await,
        40
    );

    let tmp = tempfile::tempdir().unwrap();
    let wrong = wrong_ca(tmp.path());
    c.database_url = url(
        &db,
        &bouncer,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={wrong}"),
    );
    std::fs::write(
        tmp.path().join("vecsync.toml"),
        toml::to_string(&c).unwrap(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vecsync"))
        .args(["status"])
        .current_dir(tmp.path())
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("sslrootcert="), "{stderr}");
    assert!(!stderr.contains(&password(&db)), "{stderr}");
}
