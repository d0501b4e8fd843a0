//! Debian's pgbouncer in front of the test server, the way Supabase's pooler on port 6543
//! is: `pool_mode = transaction` (pgbouncer 1.18 has no prepared-statement support at
//! all: a server connection goes to another client after every transaction, so named
//! prepared statements, LISTEN and session state do not carry over), and TLS offered to
//! clients (`client_tls_sslmode = allow`) with a certificate made here by
//! `openssl req -x509 -subj /CN=localhost`: self-signed, CA:TRUE, no subjectAltName, what
//! psql accepts as its own `sslrootcert`. The test server is built without SSL, so this is
//! the suite's real TLS endpoint.
//!
//! One pgbouncer per [`Pgbouncer`], on a free port of 127.0.0.1, killed when it is dropped.
//! pgbouncer refuses to run as root: as root (CI) it runs as the server's OS user.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::postgres::{server_url, url_for_db};

pub struct Pgbouncer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Pgbouncer {
    /// Starts pgbouncer in front of the test server and waits until it accepts connections.
    pub fn start() -> Pgbouncer {
        let server = url::Url::parse(&server_url()).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        openssl_self_signed(&path("server.key"), &path("server.crt"));
        std::fs::write(
            path("users.txt"),
            format!(
                "\"{}\" \"{}\"\n",
                server.username(),
                server.password().unwrap_or_default()
            ),
        )
        .unwrap();
        std::fs::write(
            path("pgbouncer.ini"),
            format!(
                "[databases]\n* = host={host} port={upstream}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 20\n\
                 auth_type = plain\nauth_file = {users}\n\
                 client_tls_sslmode = allow\nclient_tls_key_file = {key}\n\
                 client_tls_cert_file = {crt}\nserver_tls_sslmode = disable\n",
                host = server.host_str().unwrap(),
                upstream = server.port().unwrap(),
                users = path("users.txt").display(),
                key = path("server.key").display(),
                crt = path("server.crt").display(),
            ),
        )
        .unwrap();
        let mut cmd = Command::new("pgbouncer");
        if running_as_root() {
            use std::os::unix::fs::PermissionsExt;
            for name in ["", "users.txt", "pgbouncer.ini", "server.key", "server.crt"] {
                let p = path(name);
                let mode = if p.is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            let user = std::env::var("VECSYNC_PG_OS_USER").unwrap_or_else(|_| "vecsyncpg".into());
            cmd.args(["-u", &user]);
        }
        let child = cmd
            .arg(path("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pgbouncer is not installed: apt-get install pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Pgbouncer { child, port, dir }
    }

    /// The URL of database `db` of the test server, through this pgbouncer.
    pub fn url(&self, db: &str) -> String {
        let mut u = url::Url::parse(&url_for_db(&server_url(), db)).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.to_string()
    }

    /// Its TLS certificate (self-signed for CN=localhost), the `sslrootcert` that verifies
    /// it.
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("server.crt")
    }
}

impl Drop for Pgbouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for CN=localhost and its key, as `openssl req -x509` makes
/// them (CA:TRUE, no subjectAltName).
pub fn openssl_self_signed(key: &Path, crt: &Path) {
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(crt)
        .output()
        .expect("openssl is not installed: apt-get install openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this process runs as root (the owner of /proc/self).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
