//! [`InFlight`]: counts calls still running, so a server that stops can wait for them
//! (and for their audit lines) a bounded time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// A count of running calls, shared by clones.
#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    /// Calls running now.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::SeqCst)
    }

    /// Counts one call until the returned guard drops.
    pub fn track(&self) -> CallGuard {
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        CallGuard {
            calls: self.clone(),
        }
    }

    /// Waits until no call runs, or `limit` passed; true when none runs.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.inner.idle.notified();
                if self.count() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

/// Keeps a call counted in its [`InFlight`] while it lives.
pub struct CallGuard {
    calls: InFlight,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.calls.inner.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.calls.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_calls_to_finish() {
        let calls = InFlight::default();
        assert!(calls.wait_idle(Duration::from_millis(10)).await);
        let g = calls.track();
        assert_eq!(calls.count(), 1);
        assert!(!calls.wait_idle(Duration::from_millis(20)).await);
        let c2 = calls.clone();
        let waiter = tokio::spawn(async move { c2.wait_idle(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(g);
        assert!(waiter.await.unwrap());
    }
}
