//! What repeated authentication failures from one client address cost it.
//!
//! Each address (an IPv6 client by its /64, the block one host is usually given) has a
//! small budget of failed authentications: [`FAILURE_BURST`] at once, refilled by one every
//! [`REFILL`]. Past it, a request from that address **that carries no valid token** gets
//! 429 with `Retry-After` instead of 401, and its `AUTH_FAILED` line is not written one by
//! one: the failures are counted and reported in one `AUTH_FAILED` summary line per address
//! per [`WINDOW`] (and when the server stops), saying how many were answered 429. A flood
//! of wrong tokens then costs a few lines a minute instead of one line per request, and
//! every failure is still in the trail, as a count, and in the metric.
//!
//! **A valid token is never refused because of failures.** The budget is consulted only
//! after a request has failed authentication. Behind a load balancer or a NAT every client
//! arrives from the same address, so a budget that also held back valid tokens would let
//! anyone who can reach the server lock every legitimate client out by sending wrong tokens.
//! The price: the throttle does not slow down guessing (an address past its budget still
//! learns at once when a token is right). That is acceptable because tokens are secrets too
//! long to guess (`openssl rand -hex 32` is 256 bits); what needs bounding is the log and
//! the work a flood causes, not the guesses.
//!
//! At most [`MAX_TRACKED`] addresses are tracked; when more have failed recently than that
//! (many addresses at once), new ones share one budget.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};

use crate::audit;

/// Failed authentications an address may have at once before it is throttled.
pub const FAILURE_BURST: u32 = 20;
/// How long it takes for one more failure to be allowed.
pub const REFILL: Duration = Duration::from_secs(6);
/// How often the failures answered 429 are summed up in a line per address.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once.
pub const MAX_TRACKED: usize = 4096;

/// The least time between two sweeps of a full table of addresses.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Whom a failure is counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 address, or an IPv6 /64.
    Addr(IpAddr),
    /// No address known, or more addresses than [`MAX_TRACKED`].
    Shared,
}

impl Source {
    /// The source of a request from `addr`.
    pub fn of(addr: Option<SocketAddr>) -> Source {
        match addr.map(|a| a.ip()) {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::Addr(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    Source::Addr(IpAddr::V6(net))
                }
            },
            Some(v4) => Source::Addr(v4),
            None => Source::Shared,
        }
    }

    fn name(&self) -> String {
        match self {
            Source::Addr(IpAddr::V6(net)) => format!("{net}/64"),
            Source::Addr(ip) => ip.to_string(),
            Source::Shared => "many addresses".into(),
        }
    }
}

/// What to do with one failed authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the budget: 401 and its own `AUTH_FAILED` line.
    Unauthorized,
    /// Over it: 429 with `Retry-After` (whole seconds); counted for the summary line.
    Throttled(u64),
}

struct Tracked {
    budget: DefaultDirectRateLimiter,
    last_failure: Instant,
    /// Failures answered 429 since the last summary.
    suppressed: u64,
}

struct State {
    sources: HashMap<Source, Tracked>,
    /// When the table was last swept for addresses to drop (see [`AuthFailures::room_for`]).
    swept: Option<Instant>,
    /// A task writing the summaries every [`WINDOW`] is running.
    reporting: bool,
}

/// The failed-authentication budgets of all addresses.
#[derive(Clone)]
pub struct AuthFailures {
    state: Arc<Mutex<State>>,
    quota: Quota,
    clock: DefaultClock,
}

impl Default for AuthFailures {
    fn default() -> Self {
        AuthFailures::new(FAILURE_BURST, REFILL)
    }
}

impl AuthFailures {
    /// Budgets of `burst` failures, one more every `refill`.
    pub fn new(burst: u32, refill: Duration) -> AuthFailures {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(refill)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        AuthFailures {
            state: Arc::new(Mutex::new(State {
                sources: HashMap::new(),
                swept: None,
                reporting: false,
            })),
            quota,
            clock: DefaultClock::default(),
        }
    }

    /// Counts one failed authentication from `source`.
    pub fn failed(&self, source: Source) -> Verdict {
        // A poisoned lock (a panic elsewhere) must not turn failures into successes: the
        // request is refused either way; only its answer and line differ.
        let Ok(mut state) = self.state.lock() else {
            return Verdict::Unauthorized;
        };
        let now = Instant::now();
        let source = self.room_for(&mut state, source, now);
        let tracked = state.sources.entry(source).or_insert_with(|| Tracked {
            budget: DefaultDirectRateLimiter::direct(self.quota),
            last_failure: now,
            suppressed: 0,
        });
        tracked.last_failure = now;
        match tracked.budget.check() {
            Ok(()) => Verdict::Unauthorized,
            Err(not_until) => {
                tracked.suppressed += 1;
                let wait = not_until.wait_time_from(self.clock.now());
                let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                if !state.reporting {
                    state.reporting = self.start_reporting();
                }
                Verdict::Throttled(secs)
            }
        }
    }

    /// `source`, or [`Source::Shared`] when the table is full of addresses that failed
    /// recently. Addresses whose budget has refilled and that have nothing to report are
    /// dropped first — by a sweep of the whole table at most once per [`SWEEP_EVERY`], so
    /// failures from ever new addresses (an IPv6 /48 holds 65,536 /64s) cannot make every
    /// request scan 4,096 entries under the lock.
    fn room_for(&self, state: &mut State, source: Source, now: Instant) -> Source {
        if state.sources.len() < MAX_TRACKED || state.sources.contains_key(&source) {
            return source;
        }
        if state
            .swept
            .is_some_and(|t| now.duration_since(t) < SWEEP_EVERY)
        {
            return Source::Shared;
        }
        state.swept = Some(now);
        let refilled = REFILL.saturating_mul(self.quota.burst_size().get());
        state
            .sources
            .retain(|_, t| t.suppressed > 0 || now.duration_since(t.last_failure) < refilled);
        if state.sources.len() < MAX_TRACKED {
            source
        } else {
            Source::Shared
        }
    }

    /// Starts the task that writes a summary every [`WINDOW`] while there is something to
    /// report; false when there is no runtime to run it (the summaries then wait for the
    /// next failure or for [`AuthFailures::report`] at shutdown).
    fn start_reporting(&self) -> bool {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let me = self.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(WINDOW).await;
                if me.report() == 0 {
                    break;
                }
            }
        });
        true
    }

    /// Writes one summary line per address with failures answered 429 since its last one,
    /// and returns how many lines it wrote; with none to write the reporting task stops.
    pub fn report(&self) -> usize {
        let summaries = self.take_suppressed();
        for (source, count) in &summaries {
            audit::auth_failures_suppressed(&source.name(), *count, WINDOW);
        }
        summaries.len()
    }

    /// The counts to report, reset; marks reporting stopped when there are none.
    fn take_suppressed(&self) -> Vec<(Source, u64)> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let out: Vec<(Source, u64)> = state
            .sources
            .iter_mut()
            .filter(|(_, t)| t.suppressed > 0)
            .map(|(s, t)| (*s, std::mem::take(&mut t.suppressed)))
            .collect();
        if out.is_empty() {
            state.reporting = false;
        }
        out
    }
}

/// The 429 for an address past its failure budget.
pub fn too_many_failures(retry_after: u64) -> Response {
    super::errors::too_many_requests(
        -32001,
        "Too many failed authentications from this address: retry after the Retry-After seconds, with a valid token",
        retry_after,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Source {
        Source::of(Some(SocketAddr::new(ip.parse().unwrap(), 40000)))
    }

    #[test]
    fn a_burst_of_failures_then_429_per_address_and_the_count_is_kept() {
        let f = AuthFailures::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(f.failed(from("192.0.2.1")), Verdict::Unauthorized);
        }
        for _ in 0..5 {
            assert!(
                matches!(f.failed(from("192.0.2.1")), Verdict::Throttled(s) if (1..=60).contains(&s))
            );
        }
        assert_eq!(
            f.failed(from("192.0.2.2")),
            Verdict::Unauthorized,
            "per address"
        );
        assert_eq!(f.take_suppressed(), vec![(from("192.0.2.1"), 5)]);
        assert_eq!(f.take_suppressed(), vec![], "counted once");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_v4_as_v4() {
        assert_eq!(from("2001:db8:1:2::1"), from("2001:db8:1:2:ffff::9"));
        assert_ne!(from("2001:db8:1:2::1"), from("2001:db8:1:3::1"));
        assert_eq!(from("::ffff:192.0.2.7"), from("192.0.2.7"));
        assert_eq!(from("2001:db8:1:2::1").name(), "2001:db8:1:2::/64");
        assert_eq!(Source::of(None), Source::Shared);
    }

    #[test]
    fn a_full_table_is_swept_at_most_once_a_second_and_new_addresses_share_a_budget() {
        let f = AuthFailures::new(1, Duration::from_secs(60));
        let v4 = |i: usize| from(&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
        for i in 0..MAX_TRACKED {
            assert_eq!(f.failed(v4(i)), Verdict::Unauthorized);
        }
        let swept = |f: &AuthFailures| f.state.lock().unwrap().swept;
        assert_eq!(swept(&f), None);
        // The table is full of recent failures: the sweep drops nothing and the newcomer
        // shares one budget, whose first failure is still a plain 401.
        assert_eq!(f.failed(v4(MAX_TRACKED)), Verdict::Unauthorized);
        let first = swept(&f).expect("swept once");
        assert!(f
            .state
            .lock()
            .unwrap()
            .sources
            .contains_key(&Source::Shared));
        for i in 1..50 {
            assert!(matches!(
                f.failed(v4(MAX_TRACKED + i)),
                Verdict::Throttled(_)
            ));
        }
        assert_eq!(swept(&f), Some(first), "no second sweep within a second");
    }
}
