//! TLS for Postgres connections (rustls): the `sslmode` and `sslrootcert` options of a
//! `postgres://` URL, and the connector the synchronous client uses.
//!
//! - no `sslmode`, or `sslmode=disable`: plain TCP;
//! - `sslmode=prefer` (or `allow`): TLS when the server offers it, plain TCP when it does not;
//! - `sslmode=require`, `verify-ca` or `verify-full`: TLS or no connection.
//!
//! Whenever TLS is used the server's certificate chain and host name are verified (rustls does
//! not skip verification, so `require` and `verify-ca` are as strict as `verify-full`), against
//! the public web roots (webpki-roots) or, with `sslrootcert=PATH`, the CA certificates of that
//! PEM file only.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::config::SslMode;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::DbResult;

const MODES: &str = "disable, allow, prefer, require, verify-ca or verify-full";

/// What a URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of CA certificates to trust instead of the public web roots.
    pub root_cert: Option<PathBuf>,
}

/// Splits the TLS options off a `postgres://` URL: the URL for the client without `sslmode` and
/// `sslrootcert` (set through [`TlsOptions`] instead), and the options. `shown` is the URL
/// without its password, for messages.
pub fn split_tls_options(url: &str, shown: &str) -> DbResult<(String, TlsOptions)> {
    let mut options = TlsOptions { mode: SslMode::Disable, root_cert: None };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), options));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                options.mode = match value {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" | "verify-ca" | "verify-full" => SslMode::Require,
                    other => return Err(format!("--database {shown}: sslmode={other} is not one of {MODES}").into()),
                }
            }
            "sslrootcert" => options.root_cert = Some(PathBuf::from(percent_decode(value))),
            _ => kept.push(pair),
        }
    }
    if options.root_cert.is_some() && options.mode == SslMode::Disable {
        return Err(format!(
            "--database {shown}: sslrootcert is set but TLS is not: add sslmode=verify-full (or require)"
        )
        .into());
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, options))
}

/// `%XX` escapes decoded (a path in a URL query); other text as is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls client configuration of `options` (ring, safe defaults, no client certificate).
pub fn client_config(options: &TlsOptions) -> DbResult<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &options.root_cert {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert {}: not a readable PEM certificate file: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("sslrootcert {}: no usable CA certificate in the file", path.display()).into());
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("setting up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Makes a verified rustls connection per Postgres connection.
#[derive(Clone)]
pub struct MakeRustls(pub Arc<rustls::ClientConfig>);

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for MakeRustls {
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("host name {domain}: {e}")))?;
        Ok(RustlsConnect { config: self.0.clone(), name })
    }
}

pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config).connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(tls)))
        })
    }
}

pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No channel binding: SCRAM runs without it (the certificate is verified instead).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOWN: &str = "postgres://a:***@h/db";

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_taken_off_the_url() {
        let (url, o) = split_tls_options("postgres://a:p@h/db", SHOWN).unwrap();
        assert_eq!((url.as_str(), o.mode, o.root_cert), ("postgres://a:p@h/db", SslMode::Disable, None));
        let (url, o) = split_tls_options("postgres://a:p@h/db?sslmode=require&application_name=x", SHOWN).unwrap();
        assert_eq!((url.as_str(), o.mode), ("postgres://a:p@h/db?application_name=x", SslMode::Require));
        for (mode, want) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Prefer),
            ("prefer", SslMode::Prefer),
            ("verify-ca", SslMode::Require),
            ("verify-full", SslMode::Require),
        ] {
            let (url, o) = split_tls_options(&format!("postgres://h/db?sslmode={mode}"), SHOWN).unwrap();
            assert_eq!((url.as_str(), o.mode), ("postgres://h/db", want), "{mode}");
        }
        let (url, o) =
            split_tls_options("postgres://h/db?sslrootcert=%2Fetc%2Fca%20x.pem&sslmode=verify-full&user=a", SHOWN)
                .unwrap();
        assert_eq!(url, "postgres://h/db?user=a");
        assert_eq!((o.mode, o.root_cert), (SslMode::Require, Some(PathBuf::from("/etc/ca x.pem"))));
    }

    #[test]
    fn bad_tls_options_are_refused_saying_what_is_accepted() {
        let e = split_tls_options("postgres://a:secret@h/db?sslmode=sometimes", SHOWN).unwrap_err();
        assert!(e.contains("sslmode=sometimes") && e.contains("verify-full") && !e.contains("secret"), "{e}");
        let e = split_tls_options("postgres://h/db?sslrootcert=/ca.pem", SHOWN).unwrap_err();
        assert!(e.contains("sslmode=verify-full"), "{e}");
        let missing = TlsOptions { mode: SslMode::Require, root_cert: Some(PathBuf::from("/no/such/ca.pem")) };
        let e = client_config(&missing).err().unwrap();
        assert!(e.contains("/no/such/ca.pem") && e.contains("PEM"), "{e}");
        assert!(client_config(&TlsOptions { mode: SslMode::Require, root_cert: None }).is_ok());
    }
}
