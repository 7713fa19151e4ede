//! Forwards `tracing` diagnostics (ours and our dependencies') into the audit sink as `LOG`
//! lines, so stderr carries one line shape.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event as TEvent, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::Event;
use crate::config::LogLevel;

/// The tracing layer; install it with a level filter.
pub struct AuditLayer;

#[derive(Default)]
struct Collect {
    message: String,
    rest: String,
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for AuditLayer {
    fn on_event(&self, event: &TEvent<'_>, _ctx: Context<'_, S>) {
        let level = match *event.metadata().level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        let mut c = Collect::default();
        event.record(&mut c);
        let target = event.metadata().target();
        let mut text = format!("{}{}", c.message, c.rest);
        if !target.starts_with("mcp_commander") {
            text = foreign_text(text);
        }
        Event::new("LOG", level, &text)
            .field("target", target)
            .emit();
    }
}

/// Longest text a dependency's diagnostic line keeps.
const MAX_FOREIGN: usize = 1024;

/// A dependency's diagnostic (rmcp, hyper …) may repeat what a client sent: a method name,
/// a value it could not read. So its text is cut to [`MAX_FOREIGN`] bytes, and the words the
/// CloudWatch queries look for (`CMD_EXEC`, `blocked`, `401`, CONTRACT §8) are broken up,
/// so such a line can neither be huge nor be counted as an audit event.
fn foreign_text(text: String) -> String {
    // Cut first (the query words only matter in what is kept), then cut again: breaking
    // a word up makes the text a few bytes longer.
    let text = super::cut(text, MAX_FOREIGN);
    if !["CMD_EXEC", "blocked", "401"]
        .iter()
        .any(|w| text.contains(w))
    {
        return text;
    }
    let text = text
        .replace("CMD_EXEC", "CMD_-EXEC")
        .replace("blocked", "block-ed")
        .replace("401", "4-01");
    super::cut(text, MAX_FOREIGN + "…(cut)".len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_text_is_cut_and_cannot_pose_as_an_audit_event() {
        let t = foreign_text(format!("CMD_EXEC blocked 401 {}", "x".repeat(5000)));
        assert!(t.len() <= MAX_FOREIGN + 2 * "…(cut)".len(), "{}", t.len());
        assert!(t.ends_with("…(cut)"));
        for w in ["CMD_EXEC", "blocked", "401"] {
            assert!(!t.contains(w), "{w} in {t}");
        }
        assert_eq!(foreign_text("connection reset".into()), "connection reset");
    }
}
