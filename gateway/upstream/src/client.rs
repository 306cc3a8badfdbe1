//! The pooled HTTPS client: rustls (ring) with the web PKI roots plus an optional extra CA.

use std::sync::Arc;

use bytes::Bytes;
use gateway_config::Forwarding;
use http_body_util::Full;
use hyper_util::{
    client::legacy::{self, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use rustls_pki_types::{CertificateDer, pem::PemObject};

/// Most bytes an HTTP/1 connection to a provider buffers for reading (a response head and
/// body chunks not yet relayed) and for writing; bounds each pooled connection's buffers.
const HTTP1_MAX_BUF_BYTES: usize = 64 * 1024;

pub(crate) type Client = legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client could not be built (bad extra CA file).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The extra CA file cannot be read or holds malformed PEM.
    #[error("forwarding.extra_ca_file: cannot read {}", file.display())]
    ExtraCaUnreadable {
        /// The configured file.
        file: std::path::PathBuf,
        /// Why.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The extra CA file holds no certificate.
    #[error("forwarding.extra_ca_file: {} holds no PEM certificate", file.display())]
    ExtraCaEmpty {
        /// The configured file.
        file: std::path::PathBuf,
    },
    /// A Vertex target's service-account `private_key` is not a usable RSA key.
    #[error(
        "upstream target `{target}`: the service account's private_key is not a usable RSA key"
    )]
    VertexKey {
        /// The target's name.
        target: String,
    },
    /// rustls refused the TLS settings.
    #[error("tls settings: {0}")]
    Tls(#[from] rustls::Error),
}

pub(crate) fn build(f: &Forwarding) -> Result<Client, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = &f.extra_ca_file {
        let unreadable = |source| ClientError::ExtraCaUnreadable {
            file: file.clone(),
            source,
        };
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(unreadable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        if certs.is_empty() {
            return Err(ClientError::ExtraCaEmpty { file: file.clone() });
        }
        for cert in certs {
            roots.add(cert).map_err(ClientError::Tls)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(f.connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);

    Ok(legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(f.pool_idle_timeout)
        .pool_max_idle_per_host(f.pool_max_idle_per_host)
        .http1_max_buf_size(HTTP1_MAX_BUF_BYTES)
        .build(https))
}
