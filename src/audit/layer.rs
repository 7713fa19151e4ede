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
        Event::new("LOG", level, &format!("{}{}", c.message, c.rest))
            .field("target", event.metadata().target())
            .emit();
    }
}
