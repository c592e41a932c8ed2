//! The HTTP listener: axum's router behind hyper with the limits `axum::serve`
//! lacks — a deadline for request headers, a deadline for request bodies, a cap
//! on open connections — and a small body limit for requests that carry no
//! session ([`small_bodies_without_session`]).
//!
//! Handlers still read the peer address from `ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::AppError;

/// Largest body read from a request without a bearer token (16 KiB): sign-in and
/// enrolment bodies are a few hundred bytes, and nothing else is open before sign-in.
pub const ANONYMOUS_BODY_LIMIT: usize = 16 * 1024;

/// How long a whole body may take, in [`Limits::body_timeout`]s.
const BODY_TIMEOUTS_PER_BODY: u32 = 10;

/// What one client may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The request line and headers must arrive within this time (also the longest an
    /// idle kept-alive connection stays open).
    pub header_timeout: Duration,
    /// The longest wait for the next piece of a request body; the whole body gets
    /// ten times this.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the listen queue.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl Limits {
    /// The limits a configuration asks for.
    pub fn from_config(config: &crate::Config) -> Self {
        Limits {
            header_timeout: Duration::from_secs(config.header_timeout_secs.max(1)),
            body_timeout: Duration::from_secs(config.body_timeout_secs.max(1)),
            max_connections: config.max_connections.max(1),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open
/// requests finish (as `axum::serve` does).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection holds a receiver; the sender closes when the last one ends.
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    if !is_connection_error(&e) {
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(|body| Body::new(TimedBody::new(body, limits.body_timeout)));
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // HTTP/1 only, as axum::serve spoke it here (axum's http2 feature is off).
            // hyper's own builder, not hyper-util's auto one: that one waits for the
            // first bytes (to tell HTTP/2) with no timer, so a silent client was held.
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// Errors of one connection that say nothing about the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}

/// A request body that fails when the client sends nothing for `idle`, or has not
/// finished after ten times that.
struct TimedBody {
    inner: Incoming,
    idle: Duration,
    idle_timer: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
}

impl TimedBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        TimedBody {
            inner,
            idle,
            idle_timer: Box::pin(tokio::time::sleep(idle)),
            deadline: Box::pin(tokio::time::sleep(idle * BODY_TIMEOUTS_PER_BODY)),
        }
    }
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        // Bytes already here win over a timer that ran out while nobody read.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            let next = Instant::now() + this.idle;
            this.idle_timer.as_mut().reset(next);
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if this.idle_timer.as_mut().poll(cx).is_ready() || this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err("request body too slow".into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request without a bearer token may send at most [`ANONYMOUS_BODY_LIMIT`]:
/// a larger `Content-Length` is refused (413) before a byte of the body is read,
/// and a body without one stops being read there.
pub async fn small_bodies_without_session(request: Request, next: Next) -> Response {
    let has_bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if has_bearer {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > ANONYMOUS_BODY_LIMIT as u64) {
        return AppError::too_large("请求内容太大").into_response();
    }
    let request = request.map(|body| {
        Body::new(http_body_util::Limited::new(body, ANONYMOUS_BODY_LIMIT))
    });
    next.run(request).await
}

/// Whether a body failed for being longer than a limit (and not cut off or slow).
pub fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
