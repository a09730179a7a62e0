//! Structured logs: JSON lines by default (`HUYING_LOG_FORMAT=text` for humans), filtered by
//! `RUST_LOG` (default `info`). ERROR is for our faults only.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::{EnvFilter, fmt};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = init_with(json, filter, std::io::stdout);
}

/// Installs the logger writing to `writer`; fails when one is installed already.
pub fn init_with<W>(json: bool, filter: EnvFilter, writer: W) -> Result<(), TryInitError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let format = fmt::layer().with_target(false).with_writer(writer);
    let format = if json {
        format
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        format.boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(ClientFaultsQuiet)
        .with(format)
        .try_init()
}

/// actix-http logs a request it cannot parse (a malformed header, say) or a client too slow to
/// send one at ERROR, and answers 400 or 408 itself before the app sees anything. Those are
/// the client's faults, not ours: they are not logged.
struct ClientFaultsQuiet;

const CLIENT_FAULTS: &[&str] = &[
    "stream error: request parse error",
    "stream error: request did not complete",
];

impl<S: Subscriber> Layer<S> for ClientFaultsQuiet {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let meta = event.metadata();
        if *meta.level() != Level::ERROR || !meta.target().starts_with("actix_http::") {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        !CLIENT_FAULTS.iter().any(|f| message.0.starts_with(f))
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
