//! The accept loop. It bounds what one client can hold: connections are
//! served up to `max_connections` at once (further ones wait in the OS
//! accept queue), headers must arrive within `header_read_timeout`, bodies
//! within `body_read_timeout` (see `buffer_body`), and a connection with no
//! request in progress and no bytes moving is closed after `idle_timeout`.
//! Only HTTP/1.1 is spoken, as before (no SDK uses HTTP/2).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::ConnectionLimits;
use crate::shutdown::Shutdown;

/// Request extension: how long `buffer_body` waits for the whole body.
#[derive(Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// Serves `app` until `shutdown` fires, then lets every open connection
/// finish its current request and waits for them.
pub async fn serve(listener: TcpListener, app: Router, limits: &ConnectionLimits, shutdown: Shutdown) {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut connections = JoinSet::new();
    loop {
        // Take a slot before accepting, so excess connections stay queued in
        // the kernel instead of costing a file descriptor here.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = shutdown.wait() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead
                    // of spinning, and keep serving the open connections.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        connections.spawn(serve_connection(stream, app.clone(), limits.clone(), shutdown.clone(), permit));
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    shutdown: Shutdown,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
    let body_timeout = BodyReadTimeout(limits.body_read_timeout);
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(body_timeout);
        let in_flight = InFlight::start(requests.clone());
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.wait(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = activity.idle_for(limits.idle_timeout) => {
                tracing::debug!("closing an idle connection");
                return;
            }
        }
    }
}

/// When a connection last moved a byte or finished a request, and how many
/// of its requests are being handled.
struct Activity {
    opened: Instant,
    last_millis: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity { opened: Instant::now(), last_millis: AtomicU64::new(0), in_flight: AtomicUsize::new(0) }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    /// Resolves once no request is in progress and nothing moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
            let quiet = last.elapsed();
            if quiet >= limit && self.in_flight.load(Ordering::Relaxed) == 0 {
                return;
            }
            tokio::time::sleep(limit.saturating_sub(quiet).max(Duration::from_millis(10))).await;
        }
    }
}

/// Counts a request as in progress until its response head is ready; its
/// body then counts as traffic.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records each read or write that moved bytes.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    fn moved<T>(&self, poll: Poll<io::Result<T>>, bytes: usize) -> Poll<io::Result<T>> {
        if bytes > 0 {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        self.moved(poll, read)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        let written = match &poll {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        self.moved(poll, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        let written = match &poll {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        self.moved(poll, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
