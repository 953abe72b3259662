//! Log lines that carry the Sentry trace they belong to, written as [`LogFormat`] says: text
//! (`fmt`'s own, with `trace_id=… span_id=…` in front) or JSON (one object per line), both
//! reading the trace of the thread the event is logged on. Outside any trace there are no ids.

use std::fmt;

use ::tracing::{Event, Subscriber};
use serde_json::Value;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::fields::FieldMap;
use crate::config::LogFormat;
use crate::sentry::spans;

/// The trace and span ids of the Sentry span this thread is in, if any.
fn current_ids() -> Option<(String, String)> {
    spans::current_trace_context()
        .map(|context| (context.trace_id.to_string(), context.span_id.to_string()))
}

/// Log lines as [`LogFormat`] says: `fmt`'s text lines, with `trace_id=… span_id=…` first
/// inside a trace; or one JSON object per line, keys sorted: `timestamp`, `level`, `target`,
/// `message`, the event's fields, `spans` (the names of the spans it is in, outermost first)
/// and, inside a trace, `trace_id` and `span_id`, which win over a field of the same name.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use vk_monitor::tracing::LogFormat;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(vk_monitor::tracing::layer())
///     .with(tracing_subscriber::fmt::layer().event_format(LogFormat::Json));
/// # drop(subscriber);
/// ```
impl<S, N> FormatEvent<S, N> for LogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = current_ids();
        if *self == LogFormat::Text {
            if let Some((trace_id, span_id)) = ids {
                write!(writer, "trace_id={trace_id} span_id={span_id} ")?;
            }
            return Format::<Full, SystemTime>::default().format_event(ctx, writer, event);
        }
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let metadata = event.metadata();
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let mut object = fields.0;
        object.insert("timestamp".into(), timestamp.into());
        object.insert("level".into(), metadata.level().as_str().into());
        object.insert("target".into(), metadata.target().into());
        if let Some(scope) = ctx.event_scope() {
            let names: Vec<Value> = scope.from_root().map(|span| span.name().into()).collect();
            object.insert("spans".into(), names.into());
        }
        if let Some((trace_id, span_id)) = ids {
            object.insert("trace_id".into(), trace_id.into());
            object.insert("span_id".into(), span_id.into());
        }
        let line = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// The `fmt` layer a [`LogFormat`] asks for.
pub(super) fn fmt_layer<S>(format: LogFormat) -> impl tracing_subscriber::Layer<S> + Send + Sync
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(DefaultFields::new())
        .event_format(format)
}
