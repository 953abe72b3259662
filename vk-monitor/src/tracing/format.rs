//! Log lines that carry the Sentry trace they belong to: a text format (`fmt`'s own, with
//! `trace_id=… span_id=…` in front) and a JSON format (one object per line), both reading the
//! current span of the thread the event is logged on. Outside any trace there are no ids.

use std::fmt;

use ::tracing::field::{Field, Visit};
use ::tracing::{Event, Subscriber};
use serde_json::{Map, Value};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::sentry::spans;

/// The trace and span ids of the Sentry span this thread is in, if any.
fn current_ids() -> Option<(String, String)> {
    spans::current_trace_context()
        .map(|context| (context.trace_id.to_string(), context.span_id.to_string()))
}

/// `fmt`'s text lines, with `trace_id=… span_id=…` first inside a trace.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(vk_monitor::tracing::layer())
///     .with(tracing_subscriber::fmt::layer().event_format(vk_monitor::tracing::TextFormat::default()));
/// # drop(subscriber);
/// ```
#[derive(Debug, Default)]
pub struct TextFormat {
    inner: Format<Full, SystemTime>,
}

impl<S, N> FormatEvent<S, N> for TextFormat
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
        if let Some((trace_id, span_id)) = current_ids() {
            write!(writer, "trace_id={trace_id} span_id={span_id} ")?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

/// One JSON object per line, keys sorted: `timestamp`, `level`, `target`, `message`, the
/// event's fields, `spans` (the names of the spans it is in, outermost first) and, inside a
/// trace, `trace_id` and `span_id`. Those keys win over a field of the same name.
#[derive(Debug, Default)]
pub struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
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
        if let Some((trace_id, span_id)) = current_ids() {
            object.insert("trace_id".into(), trace_id.into());
            object.insert("span_id".into(), span_id.into());
        }
        let line = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// An event's fields as JSON values.
#[derive(Default)]
pub(super) struct FieldMap(pub(super) Map<String, Value>);

impl FieldMap {
    fn put(&mut self, field: &Field, value: impl Into<Value>) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl Visit for FieldMap {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

/// The `fmt` layer a [`LogFormat`](crate::config::LogFormat) asks for, boxed so that both
/// formats are one type.
pub(super) fn fmt_layer<S>(
    format: crate::config::LogFormat,
) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let layer = tracing_subscriber::fmt::layer().fmt_fields(DefaultFields::new());
    match format {
        crate::config::LogFormat::Text => Box::new(layer.event_format(TextFormat::default())),
        crate::config::LogFormat::Json => Box::new(layer.event_format(JsonFormat)),
    }
}
