//! Connection settings: a `postgres://` URL becomes tokio-postgres settings plus the TLS
//! connector its `sslmode` asks for (libpq's values, see [`super::tls`]), and each opened
//! connection gets a driver task that forwards `NOTIFY`s.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_postgres::tls::TlsStream;
use tokio_postgres::{AsyncMessage, Client, Connection, NoTls, Socket};

use super::errors::describe;
use super::tls::{client_config, Verify};
use crate::config::redact_url;
use crate::config_error;

/// The port of Supabase's pooler in transaction mode.
const SUPABASE_TRANSACTION_POOLER_PORT: u16 = 6543;

/// How to connect: tokio-postgres settings plus the TLS connector `sslmode` asks for.
#[derive(Clone)]
pub(super) struct ConnectSpec {
    pub(super) pg: tokio_postgres::Config,
    pub(super) tls: Tls,
    /// The URL with its password hidden, for logs and errors.
    pub(super) redacted: String,
    /// Why the URL looks like a connection pooler in transaction mode, through which
    /// `LISTEN` cannot work: `pgbouncer=true` (Prisma's flag) or port 6543 (Supabase).
    pub(super) pooler_hint: Option<&'static str>,
}

#[derive(Clone)]
pub(super) enum Tls {
    None,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl ConnectSpec {
    /// Parses the `postgres://` URL of `setting` (named in errors). libpq's `sslmode`
    /// values are honoured (tokio-postgres itself knows only disable/prefer/require); with
    /// no `sslmode`, connections to localhost / 127.0.0.1 / ::1 / unix sockets are plain
    /// TCP and others `prefer` (libpq's default). `pgbouncer=true` is taken out of the URL
    /// (tokio-postgres refuses unknown parameters) and marks a transaction pooler; so are
    /// the settings of Prisma's own client pool, which Supabase's Prisma URLs carry and
    /// which mean nothing to vecsync's (`connection_limit`, `pool_timeout`,
    /// `socket_timeout`, `statement_cache_size`).
    pub(super) fn parse(setting: &str, url: &str) -> Result<ConnectSpec> {
        let redacted = redact_url(url);
        let bad = |why: String| config_error!("{setting}: {why} ({redacted})");
        let mut parsed = url::Url::parse(url).map_err(|e| bad(format!("not a valid URL: {e}")))?;
        // sslmode and sslrootcert are ours to handle; every other parameter goes to
        // tokio-postgres exactly as written (re-encoding would turn the %20 of
        // `options=-c%20search_path%3D...` into a `+` the server takes literally).
        let mut sslmode: Option<String> = None;
        let mut rootcert: Option<String> = None;
        let mut pooler_hint = None;
        let mut kept: Vec<&str> = Vec::new();
        for piece in parsed.query().unwrap_or_default().split('&') {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            match decode(key).as_str() {
                "" => {}
                "sslmode" => sslmode = Some(decode(value)),
                "sslrootcert" => rootcert = Some(decode(value)),
                "pgbouncer" => {
                    if decode(value) == "true" {
                        pooler_hint = Some("pgbouncer=true in the URL");
                    }
                }
                "connection_limit" | "pool_timeout" | "socket_timeout" | "statement_cache_size" => {
                }
                _ => kept.push(piece),
            }
        }
        let kept = kept.join("&");
        parsed.set_query((!kept.is_empty()).then_some(kept.as_str()));
        let mut pg: tokio_postgres::Config = parsed
            .as_str()
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(describe(&e)))?;
        // libpq's PGPASSWORD when the URL has none (Config::secrets registers it for redaction).
        if let (None, Ok(password)) = (pg.get_password(), std::env::var("PGPASSWORD")) {
            pg.password(password);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("vecsync");
        }
        pg.connect_timeout(Duration::from_secs(10));
        pg.keepalives(true);
        if pg.get_ports().contains(&SUPABASE_TRANSACTION_POOLER_PORT) {
            pooler_hint = pooler_hint.or(Some("port 6543, Supabase's transaction pooler"));
        }
        let local = pg.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => {
                matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        });
        use tokio_postgres::config::SslMode;
        // libpq: with a root certificate, even `prefer` and `require` check the chain.
        let unless_rootcert = if rootcert.is_some() {
            Verify::Chain
        } else {
            Verify::Nothing
        };
        let (mode, verify) = match sslmode.as_deref() {
            None if local => (SslMode::Disable, Verify::Nothing),
            None | Some("prefer") | Some("allow") => (SslMode::Prefer, unless_rootcert),
            Some("disable") => (SslMode::Disable, Verify::Nothing),
            Some("require") => (SslMode::Require, unless_rootcert),
            Some("verify-ca") => (SslMode::Require, Verify::Chain),
            Some("verify-full") => (SslMode::Require, Verify::ChainAndHost),
            Some(other) => {
                return Err(bad(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        };
        pg.ssl_mode(mode);
        let tls = match mode {
            SslMode::Disable => Tls::None,
            _ => {
                let label = sslmode.as_deref().unwrap_or("prefer");
                let config = client_config(verify, rootcert.as_deref(), label)
                    .map_err(|e| bad(format!("{e:#}")))?;
                Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(config))
            }
        };
        Ok(ConnectSpec {
            pg,
            tls,
            redacted,
            pooler_hint,
        })
    }

    /// Opens a connection; its driver task runs on the runtime and forwards notifications
    /// to `notify` when given.
    pub(super) async fn open(
        &self,
        notify: Option<Arc<watch::Sender<u64>>>,
    ) -> std::result::Result<Client, tokio_postgres::Error> {
        match &self.tls {
            Tls::None => {
                let (client, conn) = self.pg.connect(NoTls).await?;
                drive(conn, notify);
                Ok(client)
            }
            Tls::Rustls(make) => {
                let (client, conn) = self.pg.connect(make.clone()).await?;
                drive(conn, notify);
                Ok(client)
            }
        }
    }
}

/// Runs a connection's I/O until it closes, forwarding `NOTIFY`s.
fn drive<T>(mut conn: Connection<Socket, T>, notify: Option<Arc<watch::Sender<u64>>>)
where
    T: TlsStream + AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if let Some(tx) = &notify {
                        tx.send_modify(|n| *n = n.wrapping_add(1));
                    }
                }
                Ok(AsyncMessage::Notice(n)) => {
                    tracing::debug!("postgres notice: {}", n.message());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("postgres connection ended: {}", describe(&e));
                    break;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode;

    fn spec(url: &str) -> ConnectSpec {
        ConnectSpec::parse("database_url", url).unwrap_or_else(|e| panic!("{url}: {e:#}"))
    }

    #[test]
    fn sslmode_defaults_and_libpq_values() {
        let local = spec("postgres://u:p@127.0.0.1:5432/db");
        assert_eq!(local.pg.get_ssl_mode(), SslMode::Disable);
        assert!(matches!(local.tls, Tls::None));
        let remote = spec("postgres://u:p@db.example.com:5432/db");
        assert_eq!(remote.pg.get_ssl_mode(), SslMode::Prefer);
        assert!(matches!(remote.tls, Tls::Rustls(_)));
        let req = spec("postgres://u:p@127.0.0.1/db?sslmode=require&application_name=x");
        assert_eq!(req.pg.get_ssl_mode(), SslMode::Require);
        assert_eq!(req.pg.get_application_name(), Some("x"));
        let full = spec("postgresql://u:p@h/db?sslmode=verify-full");
        assert_eq!(full.pg.get_ssl_mode(), SslMode::Require);
        let off = spec("postgres://u:p@h/db?sslmode=disable");
        assert!(matches!(off.tls, Tls::None));
    }

    #[test]
    fn transaction_poolers_are_recognised() {
        let prisma = spec("postgres://u:p@h:5432/db?pgbouncer=true&application_name=x");
        assert_eq!(prisma.pooler_hint, Some("pgbouncer=true in the URL"));
        assert_eq!(prisma.pg.get_application_name(), Some("x"));
        let pooled =
            spec("postgres://u:p@h:6543/db?pgbouncer=true&connection_limit=1&pool_timeout=0");
        assert_eq!(pooled.pooler_hint, Some("pgbouncer=true in the URL"));
        let supabase = spec("postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres");
        assert!(supabase.pooler_hint.unwrap().contains("6543"));
        assert_eq!(spec("postgres://u:p@h:5432/db").pooler_hint, None);
        assert_eq!(
            spec("postgres://u:p@h/db?pgbouncer=false").pooler_hint,
            None
        );
    }

    #[test]
    fn connection_parameters_reach_the_server_as_written() {
        let s = spec(
            "postgres://u:p@h/db?sslmode=disable&options=-c%20search_path%3D%22App%22%2Cextensions&application_name=a%2Bb",
        );
        assert_eq!(
            s.pg.get_options(),
            Some("-c search_path=\"App\",extensions")
        );
        assert_eq!(s.pg.get_application_name(), Some("a+b"));
        assert!(matches!(s.tls, Tls::None));
        // vecsync's own parameters are decoded.
        let e = ConnectSpec::parse(
            "database_url",
            "postgres://u:p@h/db?sslrootcert=%2Fno%2Fca.pem&sslmode=require",
        )
        .err()
        .expect("missing sslrootcert");
        assert!(format!("{e:#}").contains("cannot read /no/ca.pem"), "{e:#}");
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_password() {
        for url in [
            "postgres://u:s3cret@h/db?sslmode=maybe",
            "postgres://u:s3cret@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
            "postgres://u:s3cret@h/db?bogus_option=1",
        ] {
            let e = ConnectSpec::parse("database_url", url).err().expect(url);
            let msg = e
                .downcast_ref::<crate::config::ConfigError>()
                .expect("ConfigError")
                .to_string();
            assert!(msg.starts_with("database_url: "), "{msg}");
            assert!(!msg.contains("s3cret"), "{msg}");
        }
    }
}
