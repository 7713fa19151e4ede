//! The accept loop: every connection gets `TCP_NODELAY` (without it each small response
//! waits ~40 ms for a delayed ACK), its peer address for the audit log, a header read
//! timeout against slow clients (which starts at the accept: a connection that sends
//! nothing is closed too), a place among at most [`max_connections`] open ones, and a place
//! in the graceful shutdown. HTTP/1.1 only: MCP clients speak it, and hyper's HTTP/2 has no
//! read timeouts.
//!
//! Connections are served by [`Workers`]: one thread per core, each with a single-threaded
//! tokio runtime, and each connection stays on the thread it was handed to. A call's work is
//! short bursts between waits (read the request, start the command, collect its output,
//! write the answer); on tokio's work-stealing runtime each of those wake-ups could land on
//! the other, parked worker, and those cross-CPU hand-offs cost a sequential `echo hi` call
//! more than the whole HTTP layer does. Pinned, a connection's request, its MCP session
//! (rmcp spawns the session's tasks where the session was created), its command's pipes
//! and its answer share one thread, while many clients still spread over every core.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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

/// Threads that serve connections, each running a single-threaded tokio runtime.
pub struct Workers {
    handles: Vec<tokio::runtime::Handle>,
    /// Connections each worker is serving, to hand a new one to the least busy.
    load: Arc<Vec<AtomicUsize>>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` (at least one) worker threads.
    pub fn start(n: usize) -> std::io::Result<Workers> {
        let n = n.max(1);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut handles = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for i in 0..n {
            // The runtime is built and dropped on its own thread: a runtime may not be
            // dropped inside another one's async context (where `start` is called).
            let (tx, rx) = std::sync::mpsc::channel();
            let mut stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(rt.handle().clone()));
                    rt.block_on(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    });
                    // Whatever is left (idle sessions) is dropped here, on its own thread.
                    rt.shutdown_timeout(Duration::from_secs(1));
                })?;
            threads.push(thread);
            let handle = rx
                .recv()
                .map_err(|_| std::io::Error::other("a connection thread died at start"))??;
            handles.push(handle);
        }
        Ok(Workers {
            handles,
            load: Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
            stop: Some(stop),
            threads,
        })
    }

    /// One worker per core (`TOKIO_WORKER_THREADS` overrides, as for tokio's own runtime).
    pub fn per_core() -> std::io::Result<Workers> {
        let n = std::env::var("TOKIO_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Workers::start(n)
    }

    /// How many threads serve connections.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Always false: there is at least one worker.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Runs `serve` on the worker with the fewest connections; it counts as a connection
    /// until it ends.
    fn spawn<F>(&self, serve: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let i = (0..self.handles.len())
            .min_by_key(|&i| self.load[i].load(Ordering::Relaxed))
            .unwrap_or(0);
        self.load[i].fetch_add(1, Ordering::Relaxed);
        /// Uncounts the connection however its task ends (a panic included).
        struct Counted(Arc<Vec<AtomicUsize>>, usize);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0[self.1].fetch_sub(1, Ordering::Relaxed);
            }
        }
        let counted = Counted(self.load.clone(), i);
        self.handles[i].spawn(async move {
            let _counted = counted;
            serve.await;
        });
    }

    /// Stops the threads (ending what still runs on them) and waits for them.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// How many connections may be open at once: half the descriptors the process may open
/// (the other half is for commands' pipes, the audit log and the listening socket),
/// between 16 and 4,096. A connection beyond it is closed at once, so idle sockets cannot
/// use up the descriptors that `/health` and the commands need.
pub fn max_connections() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(u64::MAX, |(soft, _)| soft);
    usize::try_from(soft / 2)
        .unwrap_or(usize::MAX)
        .clamp(16, 4096)
}

/// A listening socket serving a router.
pub struct Server {
    listener: TcpListener,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    graceful: GracefulShutdown,
    workers: Workers,
    open: Arc<Semaphore>,
}

impl Server {
    /// Serves `router` on `listener`, with connections on `workers`.
    pub fn new(listener: TcpListener, router: Router, workers: Workers) -> Server {
        let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        Server {
            listener,
            router,
            builder: Arc::new(builder),
            graceful: GracefulShutdown::new(),
            workers,
            open: Arc::new(Semaphore::new(max_connections())),
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
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            // Over the limit: closed unanswered (dropping it closes it).
            return;
        };
        let _ = stream.set_nodelay(true);
        // Re-registered with the worker's own reactor, so its wake-ups stay on that thread.
        let Ok(stream) = stream.into_std() else {
            return;
        };
        let svc = self
            .router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                req
            });
        let builder = self.builder.clone();
        let watcher = self.graceful.watcher();
        self.workers.spawn(async move {
            let _permit = permit;
            let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                return;
            };
            // hyper's header timeout starts at the first byte: a client that sends nothing
            // gets the same time to start its request.
            let mut first = [0u8; 1];
            match tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc))
                .into_owned();
            let _ = watcher.watch(conn).await;
        });
    }

    /// Stops accepting, lets open responses finish for up to `wait`, then closes the MCP
    /// sessions (ending their streams) and waits once more.
    pub async fn close(self, sessions: CancellationToken, wait: Duration) -> Workers {
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
        self.workers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections go to the least busy worker, each stays on its thread, and stopping the
    /// workers ends what still runs on them.
    #[test]
    fn connections_spread_over_the_workers_and_stay_on_their_thread() {
        let workers = Workers::start(2).expect("workers");
        assert_eq!(workers.len(), 2);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (_hold, held) = tokio::sync::watch::channel(());
        let ended = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let tx = tx.clone();
            let mut held = held.clone();
            let ended = ended.clone();
            workers.spawn(async move {
                struct Ended(Arc<AtomicUsize>);
                impl Drop for Ended {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _ended = Ended(ended);
                let before = std::thread::current().name().map(str::to_owned);
                tokio::task::yield_now().await;
                let after = std::thread::current().name().map(str::to_owned);
                let _ = tx.send((before, after));
                // Runs until the workers stop.
                let _ = held.changed().await;
            });
        }
        let mut names = Vec::new();
        for _ in 0..4 {
            let (before, after) = rx.blocking_recv().expect("a connection ran");
            assert_eq!(before, after, "a connection moved between threads");
            names.push(before.expect("named thread"));
        }
        names.sort();
        assert_eq!(names, ["http-0", "http-0", "http-1", "http-1"]);
        workers.stop();
        assert_eq!(
            ended.load(Ordering::SeqCst),
            4,
            "stopping ends what still runs"
        );
    }
}
