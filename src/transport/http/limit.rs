//! The per-token request budget (`--rate-limit`, default 50/s with bursts of twice that).
//!
//! It runs after authentication, so the key is the caller (`token:` + hash prefix, or
//! `anonymous` under `--no-auth`) and the set of keys is bounded by the configured tokens.
//! Over budget: `429` with `Retry-After` in whole seconds. A maintained GCRA implementation
//! (`governor`) does the bookkeeping.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::audit::CallContext;
use crate::config::RateLimit;

/// A keyed request budget.
#[derive(Clone)]
pub struct Budget {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl Budget {
    /// The budget for `limit`, or `None` when the limit is off or cannot be expressed.
    pub fn new(limit: Option<RateLimit>) -> Option<Budget> {
        let limit = limit?;
        let count = NonZeroU32::new(limit.count)?;
        let burst = NonZeroU32::new(limit.count.saturating_mul(2))?;
        let quota = Quota::with_period(limit.per / count.get())?.allow_burst(burst);
        Some(Budget {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        })
    }

    /// `Ok` when `key` may make one more request, else the seconds to wait.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        match self.limiter.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
            }
        }
    }
}

/// The 429 answer.
pub fn too_many(retry_after: u64) -> Response {
    super::errors::too_many_requests(
        -32000,
        "Too many requests: rate limit exceeded, retry after the Retry-After seconds",
        retry_after,
    )
}

/// Middleware: spend one request of the caller's budget, or answer 429.
pub async fn enforce(State(budget): State<Budget>, req: Request, next: Next) -> Response {
    let key = req
        .extensions()
        .get::<CallContext>()
        .map(|c| c.caller.clone())
        .unwrap_or_else(|| "anonymous".into());
    match budget.check(&key) {
        Ok(()) => next.run(req).await,
        Err(secs) => {
            crate::metrics::global().rate_limited();
            too_many(secs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_of_twice_the_rate_then_refusal() {
        let b = Budget::new(Some(RateLimit {
            count: 2,
            per: Duration::from_secs(60),
        }))
        .unwrap();
        for _ in 0..4 {
            assert!(b.check("token:a").is_ok());
        }
        let wait = b.check("token:a").unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert!(b.check("token:b").is_ok(), "budgets are per token");
    }

    #[test]
    fn off_is_none() {
        assert!(Budget::new(None).is_none());
    }
}
