//! [`Drain`]: what a SIGTERM changes while the server winds down.
//!
//! Shutdown has three steps, and this one small type carries them: `start` turns `/health`
//! and every new request into 503 while running calls go on; [`Drain::in_flight`] counts
//! the tool calls still running so the server can wait for them up to `--shutdown-grace`;
//! `cancel_running` then ends the commands that did not finish (their process trees end
//! and their callers get an error result instead of silence).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Shared shutdown state of one HTTP server.
#[derive(Clone, Default)]
pub struct Drain {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    cancel_running: CancellationToken,
}

impl Drain {
    /// A server that is not draining.
    pub fn new() -> Drain {
        Drain::default()
    }

    /// From now on `/health` and new requests answer 503.
    pub fn start(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// True once shutdown began.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Tool calls running now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Counts one running call until the returned guard drops.
    pub fn track(&self) -> CallGuard {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        CallGuard {
            drain: self.clone(),
        }
    }

    /// Cancelled when the grace is over: running commands must end now.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.inner.cancel_running
    }

    /// Ends every command still running.
    pub fn cancel_running(&self) {
        self.inner.cancel_running.cancel();
    }

    /// Waits until no call runs, or `limit` passed; true when none runs.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.inner.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

/// Keeps a call counted in [`Drain::in_flight`] while it lives.
pub struct CallGuard {
    drain: Drain,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.drain.inner.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.drain.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_calls_to_finish() {
        let d = Drain::new();
        assert!(d.wait_idle(Duration::from_millis(10)).await);
        let g = d.track();
        assert_eq!(d.in_flight(), 1);
        assert!(!d.wait_idle(Duration::from_millis(20)).await);
        let d2 = d.clone();
        let waiter = tokio::spawn(async move { d2.wait_idle(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(g);
        assert!(waiter.await.unwrap());
        assert!(!d.is_draining());
        d.start();
        assert!(d.is_draining());
    }
}
