//! The accept loop: every connection gets `TCP_NODELAY` (without it each small response
//! waits ~40 ms for a delayed ACK), its peer address for the audit log, a header read
//! timeout against slow clients (which starts at the accept: a connection that sends
//! nothing is closed too), a place among at most [`max_connections`] open ones ([`Slots`]),
//! and a place in the graceful shutdown. HTTP/1.1 only: MCP clients speak it, and hyper's
//! HTTP/2 has no read timeouts.
//!
//! Connections are served by [`Workers`]: one thread per core, each with a single-threaded
//! tokio runtime, and each connection stays on the thread it was handed to. A call's work is
//! short bursts between waits (read the request, start the command, collect its output,
//! write the answer); on tokio's work-stealing runtime each of those wake-ups could land on
//! the other, parked worker, and those cross-CPU hand-offs cost a sequential `echo hi` call
//! more than the whole HTTP layer does. Pinned, a connection's request, its MCP session
//! (rmcp spawns the session's tasks where the session was created), its command's pipes
//! and its answer share one thread, while many clients still spread over every core.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
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

use super::{Carrying, HEADER_READ_TIMEOUT};

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
/// between 16 and 4,096, so idle sockets cannot use up the descriptors that `/health` and
/// the commands need. A connection beyond it takes the place of the longest idle one (see
/// [`Slots`]), or is closed at once when every open one is serving a request.
pub fn max_connections() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(u64::MAX, |(soft, _)| soft);
    usize::try_from(soft / 2)
        .unwrap_or(usize::MAX)
        .clamp(16, 4096)
}

/// The open connections, and which of them makes room for a new one once
/// [`max_connections`] are open.
///
/// A full server does not refuse the newcomer: it closes the connection that has been idle
/// longest, idle meaning it has no request being served (it has not finished sending a
/// request head, or it waits between requests). Otherwise anyone, without a token, could
/// hold every place with connections that send a byte and never finish their headers (each
/// held up to the header timeout, then reopened), and `/health` and every client would be
/// refused for as long as that went on. A newcomer needs only the moments until its own
/// head is read to be safe from the next eviction, while a flood must open a whole cap of
/// connections in that time. Connections busy with a request (a running call, an SSE
/// stream) are never closed for another; when all of them are, the newcomer is closed.
///
/// A client that sends a request on a kept-alive connection just as it is closed sees the
/// same early close as from any server's idle timeout.
pub struct Slots {
    cap: usize,
    open: Mutex<HashMap<u64, Arc<Slot>>>,
    next_id: AtomicU64,
    epoch: Instant,
}

/// One open connection's place.
pub struct Slot {
    /// Requests of the connection being served (their answers not yet sent).
    busy: AtomicUsize,
    /// When it last had no request being served, in µs since [`Slots::epoch`].
    idle_since: AtomicU64,
    /// Cancelled to close the connection for a newcomer.
    evicted: CancellationToken,
}

/// A connection's hold on its [`Slot`]; gives the place back when dropped.
pub struct Held {
    slots: Arc<Slots>,
    id: u64,
    slot: Arc<Slot>,
}

impl Slots {
    /// Places for `cap` connections.
    pub fn new(cap: usize) -> Arc<Slots> {
        Arc::new(Slots {
            cap,
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// A place for a new connection: a free one, or the place of the connection idle
    /// longest (which is closed); `None` when every open connection is serving a request.
    pub fn admit(self: &Arc<Slots>) -> Option<Held> {
        let slot = Arc::new(Slot {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
            evicted: CancellationToken::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.cap {
            let idlest = open
                .iter()
                .filter(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, s)| s.idle_since.load(Ordering::Acquire))
                .map(|(&id, _)| id)?;
            if let Some(old) = open.remove(&idlest) {
                old.evicted.cancel();
            }
        }
        open.insert(id, slot.clone());
        drop(open);
        Some(Held {
            slots: self.clone(),
            id,
            slot,
        })
    }

    /// How many connections hold a place.
    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |o| o.len())
    }

    /// True when no connection holds a place.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Held {
    /// Resolves when the connection is to be closed to make room for another.
    pub fn evicted(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.slot.evicted.cancelled()
    }

    /// Marks a request as being served until the returned guard is dropped.
    pub fn serving(&self) -> Serving {
        self.slot.busy.fetch_add(1, Ordering::AcqRel);
        Serving {
            slots: self.slots.clone(),
            slot: self.slot.clone(),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            open.remove(&self.id);
        }
    }
}

/// A request being served on a connection (held by its answer's body until that is sent).
pub struct Serving {
    slots: Arc<Slots>,
    slot: Arc<Slot>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        // The idle time is set before the request is uncounted, so the connection is never
        // seen idle with the time it became busy.
        self.slot
            .idle_since
            .store(self.slots.now(), Ordering::Release);
        self.slot.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Carried by a request's answer: the request counts as served until it is sent (hyper
/// drops the body then, or when the connection ends).
impl super::Carried for Serving {}

/// A listening socket serving a router.
pub struct Server {
    listener: TcpListener,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    graceful: GracefulShutdown,
    workers: Workers,
    slots: Arc<Slots>,
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
            slots: Slots::new(max_connections()),
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
        let Some(held) = self.slots.admit() else {
            // Every open connection is serving a request: closed unanswered (dropping it
            // closes it).
            return;
        };
        let held = Arc::new(held);
        let _ = stream.set_nodelay(true);
        // Re-registered with the worker's own reactor, so its wake-ups stay on that thread.
        let Ok(stream) = stream.into_std() else {
            return;
        };
        let router = self.router.clone();
        let on = held.clone();
        let svc = tower::service_fn(move |mut req: axum::http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(addr));
            let serving = on.serving();
            let answer = router.clone().oneshot(req);
            async move {
                let resp = answer.await?;
                Ok::<_, Infallible>(resp.map(|body| Body::new(Carrying::new(body, serving))))
            }
        });
        let builder = self.builder.clone();
        let watcher = self.graceful.watcher();
        self.workers.spawn(async move {
            let serve = async move {
                let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                    return;
                };
                // hyper's header timeout starts at the first byte: a client that sends
                // nothing gets the same time to start its request.
                let mut first = [0u8; 1];
                match tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => return,
                }
                let conn = builder
                    .serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        TowerToHyperService::new(svc),
                    )
                    .into_owned();
                let _ = watcher.watch(conn).await;
            };
            // Closed (by dropping it) when its place goes to a newcomer.
            tokio::select! {
                _ = serve => {}
                _ = held.evicted() => {}
            }
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
    use futures::FutureExt;

    /// Past the cap the connection idle longest gives up its place (and is told to close);
    /// one serving a request never does, and when all of them are, the newcomer is refused.
    #[test]
    fn a_newcomer_takes_the_place_of_the_longest_idle_connection() {
        let slots = Slots::new(3);
        let a = slots.admit().expect("a");
        let b = slots.admit().expect("b");
        // Apart in time, so b is idle longer than c (admitted in the same tick they tied).
        std::thread::sleep(Duration::from_millis(2));
        let c = slots.admit().expect("c");
        assert_eq!(slots.len(), 3);
        let serving_a = a.serving();
        std::thread::sleep(Duration::from_millis(2));
        // b was idle since it opened, before c: b goes.
        let d = slots.admit().expect("d takes b's place");
        assert!(b.evicted().now_or_never().is_some(), "b is told to close");
        assert!(a.evicted().now_or_never().is_none());
        assert!(c.evicted().now_or_never().is_none());
        assert_eq!(slots.len(), 3);
        drop(b);
        assert_eq!(
            slots.len(),
            3,
            "an evicted connection's place is already taken"
        );
        // a was busy throughout; once it ends its request it is idle only since then.
        let serving_c = c.serving();
        let serving_d = d.serving();
        assert!(
            slots.admit().is_none(),
            "all serving: the newcomer is refused"
        );
        drop(serving_a);
        let _e = slots.admit().expect("a is idle again");
        assert!(a.evicted().now_or_never().is_some());
        drop((serving_c, serving_d));
    }

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
