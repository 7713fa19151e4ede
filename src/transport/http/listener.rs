//! The accept loop: every connection gets `TCP_NODELAY` (without it each small response
//! waits ~40 ms for a delayed ACK), its peer address for the audit log, a header read
//! timeout against slow clients, and a place in the graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::HEADER_READ_TIMEOUT;

/// Binds `host:port` (a name such as `localhost` resolves to its first address).
pub async fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    TcpListener::bind((host, port))
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {host}:{port}: {e}")))
}

/// A listening socket serving a router.
pub struct Server {
    listener: TcpListener,
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    graceful: GracefulShutdown,
}

impl Server {
    /// Serves `router` on `listener`.
    pub fn new(listener: TcpListener, router: Router) -> Server {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        Server {
            listener,
            router,
            builder,
            graceful: GracefulShutdown::new(),
        }
    }

    /// Accepts connections until `until` resolves, and returns its output.
    pub async fn accept_until<T>(&mut self, until: impl Future<Output = T>) -> T {
        tokio::pin!(until);
        loop {
            tokio::select! {
                out = &mut until => return out,
                conn = self.listener.accept() => match conn {
                    Ok((stream, addr)) => self.spawn(stream, addr),
                    // Out of file descriptors and the like: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
            }
        }
    }

    fn spawn(&self, stream: tokio::net::TcpStream, addr: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let svc = self
            .router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                req
            });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc))
            .into_owned();
        let conn = self.graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }

    /// Stops accepting, lets open responses finish for up to `wait`, then closes the MCP
    /// sessions (ending their streams) and waits once more.
    pub async fn close(self, sessions: CancellationToken, wait: Duration) {
        drop(self.listener);
        let closed = self.graceful.shutdown();
        tokio::pin!(closed);
        if tokio::time::timeout(Duration::from_millis(300), &mut closed)
            .await
            .is_err()
        {
            sessions.cancel();
            let _ = tokio::time::timeout(wait, closed).await;
        }
        sessions.cancel();
    }
}
