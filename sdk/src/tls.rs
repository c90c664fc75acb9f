//! TLS for `https://` and `wss://`: one rustls [`ClientConfig`] per
//! [`crate::Client`], shared by its HTTP client and its realtime WebSocket,
//! so an extra CA is trusted by both.
//!
//! Trust anchors: the system's roots (`rustls-native-certs`, which honors
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus any extra CA certificates given to
//! the client builder. The crypto provider is aws-lc-rs, passed explicitly
//! (no process-wide default is needed or installed): it is the provider
//! reqwest's `rustls` feature builds anyway, so there is only one.

use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::sync::{Arc, OnceLock};
use url::{Host, Url};

/// The system's trust anchors, read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "some system CA certificates could not be loaded");
        }
        loaded.certs
    })
}

/// Every `CERTIFICATE` block in `pem`; at least one. `origin` names the
/// source in errors.
pub(crate) fn parse_pem(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| Error::TlsConfig(format!("{origin}: not valid PEM: {error}")))?;
    if certs.is_empty() {
        return Err(Error::TlsConfig(format!(
            "{origin}: no PEM CERTIFICATE block found"
        )));
    }
    Ok(certs)
}

/// The client TLS configuration: system roots plus `extra_roots`, TLS 1.2
/// and 1.3, HTTP/1.1 (the WebSocket upgrade needs it; the HTTP client is
/// built without HTTP/2).
pub(crate) fn client_config(extra_roots: &[CertificateDer<'static>]) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(|error| {
            Error::TlsConfig(format!("an extra CA certificate is unusable: {error}"))
        })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::TlsConfig(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The name the server's certificate must carry for `url`'s host.
pub(crate) fn server_name(url: &Url) -> Option<ServerName<'static>> {
    match url.host()? {
        Host::Domain(domain) => ServerName::try_from(domain.to_owned()).ok(),
        Host::Ipv4(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V4(ip).into())),
        Host::Ipv6(ip) => Some(ServerName::IpAddress(std::net::IpAddr::V6(ip).into())),
    }
}

/// The rustls error somewhere in `error`'s chain, if TLS is what failed.
/// An `io::Error` skips the error it wraps in `source()` (and may wrap
/// another `io::Error`), so the walk steps into those.
pub(crate) fn find_tls_error(error: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        current = match error.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(matches!(
            parse_pem(b"not pem at all", "test"),
            Err(Error::TlsConfig(_))
        ));
        let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            parse_pem(key_only, "test"),
            Err(Error::TlsConfig(_))
        ));
    }

    #[test]
    fn server_names_cover_domains_and_addresses() {
        for url in [
            "wss://example.test/x",
            "wss://127.0.0.1:8443/x",
            "wss://[::1]:8443/x",
        ] {
            assert!(server_name(&Url::parse(url).unwrap()).is_some(), "{url}");
        }
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(matches!(
            find_tls_error(&io),
            Some(rustls::Error::InvalidCertificate(_))
        ));
        // As hyper's connector hands it on: wrapped once more.
        let wrapped = std::io::Error::other(io);
        assert!(matches!(
            find_tls_error(&wrapped),
            Some(rustls::Error::InvalidCertificate(_))
        ));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(find_tls_error(&plain).is_none());
    }
}
