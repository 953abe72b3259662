//! `tracing` spans as Sentry spans, when the layer is asked for them (`SENTRY_TRACING_SPANS`):
//! a span at or above that level, opened while a Sentry span is current on its thread (a
//! traced request's transaction, a `#[monitored]` call's span, or another such span), becomes
//! its child, named as `sentry-tracing` names them (op: the span's name; description:
//! `target::name`), with the span's fields as data under the rules of [`fields`](super::fields).
//! While it is entered it is the current Sentry span, so what runs inside nests under it, and
//! it ends when the `tracing` span closes.
//!
//! Left out: spans of `#[monitored]` calls (they have their own Sentry span), this crate's own,
//! spans opened outside a recorded trace or with `parent: None`, and every span past the
//! transaction's bound (`sentry::spans::MAX_TRACING_SPANS`; the transaction's data
//! `vk_monitor.tracing_spans_left_out` says how many).

use ::tracing::span::{Attributes, Id, Record};
use ::tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::{self, FieldMap};
use super::sentry_events::is_at_least;
use crate::instrument::trace_span;
use crate::sentry::spans::{self, Traced};
use crate::sentry::state;

/// The Sentry span of a `tracing` span, in its extensions.
struct SentrySpan(Traced);

/// Whether a span of `metadata` may become a Sentry span at all.
fn wanted(metadata: &Metadata<'_>) -> bool {
    !trace_span::is_call_span(metadata) && !metadata.target().starts_with("vk_monitor")
}

/// Gives the new span `id` a Sentry span, when it is at `from` or above and wanted.
pub(super) fn on_new_span<S>(
    attrs: &Attributes<'_>,
    id: &Id,
    ctx: &Context<'_, S>,
    from: LevelFilter,
) where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let metadata = attrs.metadata();
    if !is_at_least(*metadata.level(), from)
        || attrs.is_root()
        || !state::active()
        || !wanted(metadata)
    {
        return;
    }
    let Some(span) = ctx.span(id) else {
        return;
    };
    // An explicit parent's Sentry span, else the one current on this thread: the contextual
    // parent in `tracing` may be a monitored call's span, whose Sentry span is current here
    // only once the call runs.
    let parent = attrs
        .parent()
        .and_then(|parent| ctx.span(parent))
        .and_then(|parent| {
            let extensions = parent.extensions();
            extensions
                .get::<SentrySpan>()
                .map(|sentry| sentry.0.clone())
        });
    let name = metadata.name();
    let description = match metadata.target() {
        "" => name.to_owned(),
        target => format!("{target}::{name}"),
    };
    let Some(traced) = spans::start_tracing_child(parent.as_ref(), name, &description) else {
        return;
    };
    let mut values = FieldMap::default();
    attrs.record(&mut values);
    set_data(&traced, values);
    span.extensions_mut().insert(SentrySpan(traced));
}

/// Fields recorded later go to the span's data too.
pub(super) fn on_record<S>(id: &Id, record: &Record<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let extensions = span.extensions();
    if let Some(SentrySpan(traced)) = extensions.get::<SentrySpan>() {
        let mut values = FieldMap::default();
        record.record(&mut values);
        set_data(traced, values);
    }
}

/// The span's Sentry span is current while it is entered.
pub(super) fn on_enter<S>(id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(span) = ctx.span(id)
        && let Some(SentrySpan(traced)) = span.extensions().get::<SentrySpan>()
    {
        spans::enter_tracing(id.into_u64(), traced);
    }
}

/// What was current before it is again.
pub(super) fn on_exit<S>(id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(span) = ctx.span(id)
        && span.extensions().get::<SentrySpan>().is_some()
    {
        spans::exit_tracing(id.into_u64());
    }
}

/// The Sentry span ends with the `tracing` span.
pub(super) fn on_close<S>(id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let sentry = span.extensions_mut().remove::<SentrySpan>();
    if let Some(SentrySpan(traced)) = sentry {
        traced.finish();
    }
}

fn set_data(traced: &Traced, values: FieldMap) {
    let pii = state::send_pii();
    for (name, value) in values.0 {
        let value = fields::for_sentry(&name, value, pii);
        traced.set_data(&name, value);
    }
}
