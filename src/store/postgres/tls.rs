//! TLS with libpq's meaning of `sslmode`, done with rustls.
//!
//! | sslmode | vecsync (like libpq) |
//! |---|---|
//! | `disable` | plain TCP |
//! | `allow`, `prefer` | TLS if the server offers it; with `sslrootcert`, checked like `verify-ca` |
//! | `require` | TLS, certificate not checked; with `sslrootcert`, checked like `verify-ca` |
//! | `verify-ca` | the certificate chains to `sslrootcert` (no host name check) |
//! | `verify-full` | `verify-ca`, and the certificate names the host |
//!
//! Two things webpki alone refuses and libpq (OpenSSL) accepts, so vecsync does too:
//! - a server certificate that `sslrootcert` itself holds, e.g. the self-signed certificate
//!   `openssl req -x509` makes (a CA certificate, which webpki refuses as a server's with
//!   `CaUsedAsEndEntity`): it is trusted as is, within its validity dates;
//! - a certificate without subjectAltName whose Common Name is the host (what PostgreSQL's
//!   documentation shows how to make). The host check follows libpq: subjectAltName
//!   entries of the host's kind (DNS name or IP address) decide; the Common Name counts
//!   only when there are none; `*.example.com` matches one leftmost label.
//!
//! Without `sslrootcert` (or with `sslrootcert=system`) the roots are the Mozilla set
//! (webpki-roots), like libpq's `sslrootcert=system`.

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

/// What to check of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verify {
    /// Encrypt, but do not check who is at the other end (`require`).
    Nothing,
    /// The certificate chains to a trusted root (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndHost,
}

/// A rustls client config for `verify`; `rootcert` is `sslrootcert` (a PEM file, or
/// `system`), `sslmode` its name, for error messages. Errors name `sslrootcert`.
pub(super) fn client_config(
    verify: Verify,
    rootcert: Option<&str>,
    sslmode: &str,
) -> Result<rustls::ClientConfig> {
    let verifier = verifier(verify, rootcert, sslmode)?;
    let config = rustls::ClientConfig::builder_with_provider(verifier.provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn verifier(verify: Verify, rootcert: Option<&str>, sslmode: &str) -> Result<Arc<LibpqVerifier>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let check = match verify {
        Verify::Nothing => None,
        Verify::Chain | Verify::ChainAndHost => {
            let mut roots = RootCertStore::empty();
            let mut pinned = Vec::new();
            let trusted = match rootcert {
                None | Some("system") => {
                    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    "the system's root certificates (no sslrootcert given)".to_string()
                }
                Some(path) => {
                    use rustls::pki_types::pem::PemObject;
                    let certs = CertificateDer::pem_file_iter(path)
                        .with_context(|| format!("sslrootcert: cannot read {path}"))?;
                    for cert in certs {
                        let cert =
                            cert.with_context(|| format!("sslrootcert: bad PEM in {path}"))?;
                        roots
                            .add(cert.clone())
                            .with_context(|| format!("sslrootcert: bad certificate in {path}"))?;
                        pinned.push(cert);
                    }
                    if pinned.is_empty() {
                        anyhow::bail!("sslrootcert: no certificate in {path}");
                    }
                    format!("sslrootcert={path}")
                }
            };
            Some(Check {
                roots,
                pinned,
                host: verify == Verify::ChainAndHost,
                trusted,
                sslmode: sslmode.to_string(),
            })
        }
    };
    Ok(Arc::new(LibpqVerifier { provider, check }))
}

#[derive(Debug)]
struct LibpqVerifier {
    provider: Arc<CryptoProvider>,
    /// `None`: no certificate check (`require` without `sslrootcert`).
    check: Option<Check>,
}

#[derive(Debug)]
struct Check {
    roots: RootCertStore,
    /// The certificates of `sslrootcert`: a server presenting one of them is trusted as is.
    pinned: Vec<CertificateDer<'static>>,
    host: bool,
    /// `sslrootcert=PATH` or the system roots, and the sslmode, for error messages.
    trusted: String,
    sslmode: String,
}

/// Why a certificate was refused, in words that name the setting to look at.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn refused(why: String) -> rustls::Error {
    rustls::Error::Other(rustls::OtherError(Arc::new(Refused(why))))
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(check) = &self.check else {
            return Ok(ServerCertVerified::assertion());
        };
        if check
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            within_dates(end_entity, now).map_err(|why| {
                refused(format!(
                    "the server's certificate (the one in {}) {why}",
                    check.trusted
                ))
            })?;
        } else {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &check.roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )
            .map_err(|e| {
                refused(format!(
                    "the server's certificate is not trusted by {}: {} (sslmode={})",
                    check.trusted,
                    why_untrusted(end_entity, &e),
                    check.sslmode
                ))
            })?;
        }
        if check.host {
            names_host(end_entity, server_name).map_err(|why| {
                refused(format!(
                    "{why} (sslmode={} checks the host name; verify-ca does not)",
                    check.sslmode
                ))
            })?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn parse(cert: &CertificateDer<'_>) -> std::result::Result<x509_cert::Certificate, String> {
    x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|e| format!("cannot read the server's certificate ({e})"))
}

/// Why webpki refused the chain, in a user's words.
fn why_untrusted(cert: &CertificateDer<'_>, error: &rustls::Error) -> String {
    use x509_cert::ext::pkix::BasicConstraints;
    let is_ca = parse(cert).is_ok_and(|c| {
        c.tbs_certificate
            .get::<BasicConstraints>()
            .is_ok_and(|bc| bc.is_some_and(|(_, bc)| bc.ca))
    });
    match error {
        // webpki's CaUsedAsEndEntity: e.g. a self-signed certificate that is not one of
        // the roots.
        _ if is_ca => "it is a CA (e.g. self-signed) certificate that is not among them".into(),
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            "none of them signed it".into()
        }
        other => other.to_string(),
    }
}

/// `Ok` when `now` is within the certificate's validity dates.
fn within_dates(cert: &CertificateDer<'_>, now: UnixTime) -> std::result::Result<(), String> {
    let cert = parse(cert)?;
    let validity = &cert.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(format!(
            "is not valid before {}",
            validity.not_before.to_date_time()
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(format!("expired on {}", validity.not_after.to_date_time()));
    }
    Ok(())
}

/// libpq's host name check (see the module docs); the error lists the names the
/// certificate has.
fn names_host(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
) -> std::result::Result<(), String> {
    let cert = parse(cert)?;
    let host = server_name.to_str();
    let host_ip: Option<IpAddr> = host.parse().ok();
    let mut names = Vec::new();
    // A subjectAltName of the host's kind rules out the Common Name.
    let mut has_own_kind = false;
    let san = cert
        .tbs_certificate
        .get::<SubjectAltName>()
        .map_err(|e| format!("cannot read the server certificate's subjectAltName ({e})"))?;
    for name in san.iter().flat_map(|(_, san)| san.0.iter()) {
        match name {
            GeneralName::DnsName(dns) => {
                has_own_kind |= host_ip.is_none();
                let dns = dns.to_string();
                if name_matches(&dns, &host) {
                    return Ok(());
                }
                names.push(dns);
            }
            GeneralName::IpAddress(bytes) => {
                has_own_kind |= host_ip.is_some();
                let ip = match bytes.as_bytes() {
                    b if b.len() == 4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
                    b if b.len() == 16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
                    _ => None,
                };
                if ip.is_some() && ip == host_ip {
                    return Ok(());
                }
                names.extend(ip.map(|ip| ip.to_string()));
            }
            _ => {}
        }
    }
    if !has_own_kind {
        if let Some(cn) = common_name(&cert) {
            if name_matches(&cn, &host) {
                return Ok(());
            }
            names.push(cn);
        }
    }
    let names = if names.is_empty() {
        "no host name".to_string()
    } else {
        names.join(", ")
    };
    Err(format!(
        "the server's certificate is for {names}, not {host}"
    ))
}

/// The first Common Name of the certificate's subject.
fn common_name(cert: &x509_cert::Certificate) -> Option<String> {
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok())
        .map(str::to_string)
}

/// libpq's name match: equal ignoring ASCII case, or `*.rest` matching exactly one
/// leftmost label followed by `.rest`.
fn name_matches(pattern: &str, host: &str) -> bool {
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(rest) = pattern.strip_prefix('*') else {
        return false;
    };
    // `rest` starts with '.', the host is longer than it and has no dot before it.
    rest.starts_with('.')
        && rest.len() > 1
        && host.len() > rest.len()
        && host
            .get(host.len() - rest.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(rest))
        && !host[..host.len() - rest.len()].contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    /// Runs the openssl CLI in `dir` (what users make their certificates with).
    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command is needed by these tests");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A certificate for `subject` signed by the CA in `dir`, with `extensions`.
    fn signed(dir: &Path, name: &str, subject: &str, extensions: &str) -> CertificateDer<'static> {
        std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        let ext = format!("{name}.ext");
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
        der(dir, &crt)
    }

    fn self_signed(dir: &Path, name: &str, subject: &str) -> CertificateDer<'static> {
        let key = format!("{name}.key");
        let crt = format!("{name}.crt");
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "30",
                "-subj",
                subject,
                "-keyout",
                &key,
                "-out",
                &crt,
            ],
        );
        der(dir, &crt)
    }

    fn der(dir: &Path, file: &str) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_file(dir.join(file)).unwrap()
    }

    /// What the verifier says about `cert` presented by `host`, `days` from now.
    fn check(
        verify: Verify,
        rootcert: &Path,
        cert: &CertificateDer<'_>,
        host: &str,
        days: u64,
    ) -> std::result::Result<(), String> {
        let v = verifier(verify, Some(rootcert.to_str().unwrap()), "verify-x").unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        let now = UnixTime::since_unix_epoch(Duration::from_secs(
            UnixTime::now().as_secs() + days * 86_400,
        ));
        v.verify_server_cert(cert, &[], &name, &[], now)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn certificates_are_checked_like_libpq_does() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "ca", "/CN=Test CA");
        let ca = d.join("ca.crt");
        let ca_false = "basicConstraints=CA:FALSE\n";
        let san = signed(
            d,
            "san",
            "/CN=legacy.example.com",
            &format!(
                "{ca_false}subjectAltName=DNS:db.example.com,DNS:*.pool.example.com,IP:10.1.2.3\n"
            ),
        );
        let cn_only = signed(d, "cn", "/CN=db.example.com", ca_false);
        self_signed(d, "other", "/CN=db.example.com");
        let other = d.join("other.crt");
        let server = self_signed(d, "server", "/CN=localhost");
        let pinned = d.join("server.crt");

        // A chain to the CA: verify-full checks the subjectAltName, and then ignores the CN.
        assert_eq!(
            check(Verify::ChainAndHost, &ca, &san, "db.example.com", 0),
            Ok(())
        );
        assert_eq!(
            check(Verify::ChainAndHost, &ca, &san, "eu.pool.example.com", 0),
            Ok(())
        );
        assert_eq!(
            check(Verify::ChainAndHost, &ca, &san, "10.1.2.3", 0),
            Ok(())
        );
        let e = check(Verify::ChainAndHost, &ca, &san, "legacy.example.com", 0).unwrap_err();
        assert!(
            e.contains(
                "is for db.example.com, *.pool.example.com, 10.1.2.3, not legacy.example.com"
            ),
            "{e}"
        );
        assert!(check(Verify::ChainAndHost, &ca, &san, "a.eu.pool.example.com", 0).is_err());
        // No subjectAltName: the Common Name counts (PostgreSQL's docs make such certificates).
        assert_eq!(
            check(Verify::ChainAndHost, &ca, &cn_only, "db.example.com", 0),
            Ok(())
        );
        let e = check(Verify::ChainAndHost, &ca, &cn_only, "10.1.2.3", 0).unwrap_err();
        assert!(e.contains("is for db.example.com, not 10.1.2.3"), "{e}");
        // verify-ca: the chain only.
        assert_eq!(
            check(Verify::Chain, &ca, &cn_only, "elsewhere.example.com", 0),
            Ok(())
        );
        // Another root: refused, naming sslrootcert.
        let e = check(Verify::Chain, &other, &san, "db.example.com", 0).unwrap_err();
        assert!(
            e.contains(&format!("not trusted by sslrootcert={}", other.display())),
            "{e}"
        );
        // The self-signed certificate that sslrootcert holds (CA:TRUE, as `openssl req -x509`
        // makes): trusted as is, within its dates, and its CN names the host.
        assert_eq!(
            check(Verify::ChainAndHost, &pinned, &server, "localhost", 0),
            Ok(())
        );
        let e = check(Verify::ChainAndHost, &pinned, &server, "127.0.0.1", 0).unwrap_err();
        assert!(e.contains("is for localhost, not 127.0.0.1"), "{e}");
        let e = check(Verify::Chain, &pinned, &server, "localhost", 60).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        let e = check(Verify::Chain, &other, &server, "localhost", 0).unwrap_err();
        assert!(e.contains("not trusted"), "{e}");
    }

    #[test]
    fn wildcards_match_one_leftmost_label() {
        assert!(name_matches("db.example.com", "DB.Example.com"));
        assert!(name_matches("*.example.com", "db.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.db.example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("*", "localhost"));
        assert!(!name_matches("db*.example.com", "db1.example.com"));
    }
}
