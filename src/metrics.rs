//! Prometheus metrics (served at `GET /metrics` with `--metrics`): commands by outcome,
//! refusals by rule, command durations, running commands, auth failures, rate-limited
//! requests and build info.
//!
//! One process-wide registry ([`global`]), because the counters are fed from the service,
//! the HTTP layers and the executor alike. Labels never carry command text or tokens.

use std::sync::atomic::AtomicU64;
use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// How a command call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    NonZero,
    Timeout,
    Refused,
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NonZero => "non_zero",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: String,
}

/// The metric handles.
pub struct Metrics {
    registry: Registry,
    commands: Family<OutcomeLabel, Counter>,
    refusals: Family<RuleLabel, Counter>,
    duration: Histogram,
    running: Gauge<i64, std::sync::atomic::AtomicI64>,
    auth_failures: Counter<u64, AtomicU64>,
    rate_limited: Counter<u64, AtomicU64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mcp_commander");
        let commands = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "commands",
            "Command calls by outcome (ok, non_zero, timeout, refused, error)",
            commands.clone(),
        );
        let refusals = Family::<RuleLabel, Counter>::default();
        registry.register("refusals", "Policy refusals by rule id", refusals.clone());
        let duration = Histogram::new(exponential_buckets(0.001, 2.5, 14));
        registry.register(
            "command_duration_seconds",
            "Wall time of commands that ran",
            duration.clone(),
        );
        let running = Gauge::default();
        registry.register("running_commands", "Commands running now", running.clone());
        let auth_failures = Counter::default();
        registry.register(
            "auth_failures",
            "HTTP requests without a valid token (401, or 429 past the failed-authentication budget)",
            auth_failures.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "HTTP requests refused with 429",
            rate_limited.clone(),
        );
        registry.register(
            "build",
            "Build information",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Metrics {
            registry,
            commands,
            refusals,
            duration,
            running,
            auth_failures,
            rate_limited,
        }
    }

    /// Records a finished or refused call.
    pub fn command(&self, outcome: Outcome, seconds: Option<f64>) {
        self.commands
            .get_or_create(&OutcomeLabel {
                outcome: outcome.label(),
            })
            .inc();
        if let Some(s) = seconds {
            self.duration.observe(s);
        }
    }

    /// Records a refusal by its rule id.
    pub fn refusal(&self, rule: &str) {
        self.command(Outcome::Refused, None);
        self.refusals
            .get_or_create(&RuleLabel {
                rule: rule.to_string(),
            })
            .inc();
    }

    /// A command started (+1) or ended (-1).
    pub fn running(&self, delta: i64) {
        self.running.inc_by(delta);
    }

    /// An HTTP request got 401.
    pub fn auth_failure(&self) {
        self.auth_failures.inc();
    }

    /// An HTTP request got 429.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn counters_move() {
        let m = Metrics::new();
        m.command(Outcome::Ok, Some(0.01));
        m.command(Outcome::Ok, Some(0.02));
        m.refusal("default:rm-root");
        m.auth_failure();
        let t = m.render();
        assert_eq!(
            value(&t, "mcp_commander_commands_total{outcome=\"ok\"}"),
            2.0,
            "{t}"
        );
        assert_eq!(
            value(&t, "mcp_commander_commands_total{outcome=\"refused\"}"),
            1.0
        );
        assert_eq!(
            value(&t, "mcp_commander_refusals_total{rule=\"default:rm-root\"}"),
            1.0
        );
        assert_eq!(value(&t, "mcp_commander_auth_failures_total"), 1.0);
        assert_eq!(
            value(&t, "mcp_commander_command_duration_seconds_count"),
            2.0
        );
        assert!(t.contains("mcp_commander_build_info{version="), "{t}");
    }
}
