//! TLS to the PostgreSQL server, written the way libpq's users already write it: in the
//! database URL, `sslmode=verify-full&sslrootcert=/etc/central/db-ca.pem`. The driver
//! (tokio-postgres) knows neither `sslrootcert` nor the `verify-*` modes, so they are
//! taken out here and turn into a rustls connector that trusts that CA alone.
//!
//! Stricter than libpq on purpose: any TLS here verifies the server's certificate and
//! its name (`require` and `verify-ca` too), so a mode that asks for TLS without a CA to
//! verify against is refused rather than encrypted towards whoever answers. Personal
//! data crosses this connection.

use std::path::Path;
use std::sync::Arc;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the store's connections are made.
#[derive(Clone)]
pub(crate) enum Tls {
    /// No TLS: a socket on this machine, or a database the operator chose not to encrypt.
    Plain,
    /// TLS verified against the CA in `sslrootcert`.
    Verified(MakeRustlsConnect),
}

/// The driver's configuration and connector for `url`. The error says what to change,
/// and never quotes the URL (it may hold a password).
pub(crate) fn settings(url: &str) -> Result<(tokio_postgres::Config, Tls), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut root: Option<String> = None;
    let mut mode: Option<String> = None;
    let mut passed: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || {
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(|_| format!("the database URL's {key} is not UTF-8 once decoded"))
        };
        match key {
            "sslrootcert" => root = Some(decoded()?),
            "sslmode" => mode = Some(decoded()?),
            _ => passed.push(pair),
        }
    }
    let driver_url = if passed.is_empty() { base.to_owned() } else { format!("{base}?{}", passed.join("&")) };
    // The driver's message may quote the URL, so it is not passed on.
    let mut config: tokio_postgres::Config =
        driver_url.parse().map_err(|_| "not a valid PostgreSQL URL (postgres://user@host:port/database)".to_owned())?;
    let wants_tls = match mode.as_deref() {
        None | Some("prefer" | "allow") => None,
        Some("disable") => Some(false),
        Some("require" | "verify-ca" | "verify-full") => Some(true),
        Some(other) => {
            return Err(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    match (root, wants_tls) {
        (Some(_), Some(false)) => Err("sslmode=disable and sslrootcert contradict each other: keep one".into()),
        (Some(path), _) => {
            config.ssl_mode(SslMode::Require);
            Ok((config, Tls::Verified(MakeRustlsConnect::new(client_config(Path::new(&path))?))))
        }
        (None, Some(true)) => Err(format!(
            "sslmode={} needs sslrootcert=PATH, the CA certificate that signed the PostgreSQL server's \
             certificate: the server and its name are always verified, never trusted blindly",
            mode.as_deref().unwrap_or_default()
        )),
        (None, _) => {
            config.ssl_mode(SslMode::Disable);
            Ok((config, Tls::Plain))
        }
    }
}

/// rustls trusting the certificates in the PEM file at `path`, and nothing else.
fn client_config(path: &Path) -> Result<rustls::ClientConfig, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {shown} cannot be read: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("sslrootcert {shown} is not PEM: {e}"))?;
        roots.add(cert).map_err(|e| format!("sslrootcert {shown} holds a certificate rustls refuses: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {shown} holds no certificate"));
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// True when every host of `config` is this machine (a Unix socket or loopback), where
/// a connection without TLS crosses no network.
pub(crate) fn local_only(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        match settings(url) {
            Err(e) => e,
            Ok(_) => panic!("accepted {url}"),
        }
    }

    #[test]
    fn without_tls_settings_the_connection_is_plain() {
        let (config, tls) = settings("postgres://central@127.0.0.1:5432/central?connect_timeout=5").unwrap();
        assert!(matches!(tls, Tls::Plain));
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(config.get_connect_timeout(), Some(&std::time::Duration::from_secs(5)), "other keys pass");
        assert!(local_only(&config));
        let (config, _) = settings("postgres://central@db.city.example/central?sslmode=prefer").unwrap();
        assert!(!local_only(&config));
    }

    #[test]
    fn asking_for_tls_without_a_ca_or_contradicting_itself_is_refused() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let e = err(&format!("postgres://c@db/central?sslmode={mode}"));
            assert!(e.contains("needs sslrootcert=PATH"), "{e}");
        }
        let e = err("postgres://c:secret@db/central?sslmode=disable&sslrootcert=/x.pem");
        assert!(e.contains("contradict"), "{e}");
        let e = err("postgres://c:secret@db/central?sslmode=sometimes");
        assert!(e.contains("sslmode=sometimes is not one of"), "{e}");
        let e = err("postgres://c:secret@db/central?sslrootcert=/nonexistent/ca.pem");
        assert!(e.contains("/nonexistent/ca.pem cannot be read"), "{e}");
        for e in [e, err("postgres://c:secret@db:notaport/central")] {
            assert!(!e.contains("secret"), "no password in {e}");
        }
    }

    #[test]
    fn a_ca_file_turns_on_verified_tls_and_its_path_may_be_percent_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let ca =
            rcgen::CertificateParams::new(vec![]).unwrap().self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
        let path = dir.path().join("db ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        let encoded = path.display().to_string().replace(' ', "%20");
        let (config, tls) =
            settings(&format!("postgres://c@db/central?sslmode=verify-full&sslrootcert={encoded}")).unwrap();
        assert!(matches!(tls, Tls::Verified(_)));
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        std::fs::write(&path, "not a certificate").unwrap();
        assert!(err(&format!("postgres://c@db/central?sslrootcert={encoded}")).contains("holds no certificate"));
    }
}
