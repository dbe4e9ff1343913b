//! The HTTP/1.1 accept loop: a connection limit, a header-read timeout and an idle timeout, so
//! half-open or silent connections cannot starve the server (the body timeout of uploads lives
//! in the upload handler, where it can answer 408).
//!
//! - At most [`Timeouts::max_connections`] connections are served at once; further ones wait in
//!   the kernel's listen backlog until a slot frees.
//! - A connection must send each request's complete headers within
//!   [`Timeouts::header_read`] of its first byte (hyper closes it otherwise).
//! - A connection that moves no byte either way for [`Timeouts::idle`] (before its first request,
//!   or between keep-alive requests) is shut down gracefully (a request in flight finishes) and
//!   dropped if it is still open one more idle period later.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::Timeouts;

/// Serves `router` on `listener` with the limits of `timeouts`, until the future is dropped.
pub async fn serve(listener: TcpListener, router: Router, timeouts: Timeouts) -> io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(timeouts.max_connections.max(1)));
    let service = TowerToHyperService::new(router);
    loop {
        let permit = slots.clone().acquire_owned().await.map_err(io::Error::other)?;
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            // A connection reset before it was accepted, or out of file descriptors: wait a
            // moment and go on (the server stays up).
            Err(e) => {
                eprintln!("leaderboard: accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = service.clone();
        let timeouts = timeouts.clone();
        tokio::spawn(async move {
            serve_connection(stream, service, &timeouts).await;
            drop(permit);
        });
    }
}

async fn serve_connection(stream: TcpStream, service: TowerToHyperService<Router>, timeouts: &Timeouts) {
    let _ = stream.set_nodelay(true);
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched { inner: stream, started, last: last.clone() });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle = timeouts.idle;
    let mut shutting_down: Option<Instant> = None;
    loop {
        let since = Duration::from_millis(last.load(Ordering::Relaxed));
        let quiet = started.elapsed().saturating_sub(since);
        let wait = idle.saturating_sub(quiet).max(Duration::from_millis(10));
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let since = Duration::from_millis(last.load(Ordering::Relaxed));
        if started.elapsed().saturating_sub(since) < idle {
            continue;
        }
        match shutting_down {
            None => {
                conn.as_mut().graceful_shutdown();
                shutting_down = Some(Instant::now());
            }
            Some(t) if t.elapsed() >= idle => return, // dropping the connection closes it
            Some(_) => {}
        }
    }
}

/// A stream that records when it last moved a byte (milliseconds since `started`).
struct Watched {
    inner: TcpStream,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
