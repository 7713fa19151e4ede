//! [`Drain`]: what a SIGTERM changes while the server winds down.
//!
//! Shutdown has three steps, and this one small type carries them: `start` turns `/health`
//! and every new request into 503 while running calls go on; [`Drain::in_flight`] counts
//! the tool calls still running so the server can wait for them up to `--shutdown-grace`;
//! `cancel_running` then ends the commands that did not finish (their process trees end
//! and their callers get an error result instead of silence).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::in_flight::{CallGuard, InFlight};

/// Shared shutdown state of one HTTP server.
#[derive(Clone, Default)]
pub struct Drain {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    calls: InFlight,
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
        self.inner.calls.count()
    }

    /// Counts one running call until the returned guard drops.
    pub fn track(&self) -> CallGuard {
        self.inner.calls.track()
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
        self.inner.calls.wait_idle(limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_says_when_draining() {
        let d = Drain::new();
        let g = d.track();
        assert_eq!(d.in_flight(), 1);
        drop(g);
        assert_eq!(d.in_flight(), 0);
        assert!(!d.is_draining());
        d.start();
        assert!(d.is_draining());
    }
}
