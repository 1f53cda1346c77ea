//! The client's TLS configuration, with the system's CA roots loaded at the first TLS
//! handshake instead of when the client is built.
//!
//! reqwest's own rustls setup builds `rustls_platform_verifier::Verifier` up front, which on
//! Linux reads and parses every certificate of the system's store (151 roots, ~15 ms on a
//! loaded machine) in every process, even one that only talks plain http to a loopback or
//! LAN mirror, or answers from its cache without a request. [`LazyVerifier`] is that same
//! verifier, built once on first use; the configuration is otherwise reqwest's default
//! (every protocol version the provider has, ALPN `h2` then `http/1.1`, SNI on).
//!
//! One difference: a system without any CA roots used to fail when the client was built;
//! now it fails the first https handshake (as a TLS error naming the cause), and plain-http
//! mirrors keep working.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The platform verifier, built at the first certificate to verify.
#[derive(Debug)]
pub(crate) struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    /// The verifier, or why it could not be built (no usable system roots), kept so every
    /// later handshake fails the same way without re-reading the store.
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        LazyVerifier {
            provider,
            inner: OnceLock::new(),
        }
    }

    /// Whether the system's roots have been loaded (the first handshake happened).
    #[cfg(test)]
    pub(crate) fn loaded(&self) -> bool {
        self.inner.get().is_some()
    }

    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    /// Asked for every ClientHello: answered from the provider (what the platform verifier
    /// answers too), so building a connection's hello loads nothing.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls client configuration of the one client: reqwest's defaults with the
/// [`LazyVerifier`].
pub(crate) fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    // rustls needs a process-wide crypto provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LazyVerifier::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_load_at_the_first_certificate_not_before() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = LazyVerifier::new(provider);
        assert!(!v.supported_verify_schemes().is_empty());
        assert!(!v.loaded(), "a ClientHello needs no roots");
        let name = ServerName::try_from("example.org").unwrap();
        let garbage = CertificateDer::from(vec![0u8; 8]);
        let r = v.verify_server_cert(&garbage, &[], &name, &[], UnixTime::now());
        assert!(r.is_err(), "a certificate that does not parse is refused");
        assert!(v.loaded());
    }

    #[test]
    fn the_configuration_offers_h2_and_http1() {
        let c = client_config().unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(c.enable_sni);
    }
}
