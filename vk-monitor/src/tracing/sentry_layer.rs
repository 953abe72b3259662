//! The layer that connects `tracing` to Sentry: events become breadcrumbs and error events
//! (`sentry_events`), and, when asked for, spans become Sentry spans (`sentry_spans`).
//!
//! The Sentry SDK's `sentry-tracing` layer is not used: it turns every `tracing` span into a
//! Sentry span, which would duplicate the spans of `#[monitored]` calls (themselves `tracing`
//! spans), and it links events and spans through the span on the hub's scope, where ours are
//! not kept (they live in a thread-local, see `sentry::spans`).

use ::tracing::span::{Attributes, Id, Record};
use ::tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::{sentry_events, sentry_spans};

/// The layer that sends `tracing` events, and optionally spans, to Sentry; see
/// [`layer`](super::layer).
#[derive(Clone, Copy, Debug)]
pub struct SentryLayer {
    breadcrumbs: LevelFilter,
    events: LevelFilter,
    spans: LevelFilter,
}

impl Default for SentryLayer {
    fn default() -> Self {
        SentryLayer {
            breadcrumbs: LevelFilter::INFO,
            events: LevelFilter::ERROR,
            spans: LevelFilter::OFF,
        }
    }
}

impl SentryLayer {
    /// Events at `level` or above (and below the events' level) become breadcrumbs;
    /// `LevelFilter::OFF`: none.
    pub fn breadcrumbs(mut self, level: LevelFilter) -> Self {
        self.breadcrumbs = level;
        self
    }

    /// Events at `level` or above become Sentry error events; `LevelFilter::OFF`: none.
    pub fn events(mut self, level: LevelFilter) -> Self {
        self.events = level;
        self
    }

    /// Spans at `level` or above, opened inside a recorded trace, become child spans of the
    /// current Sentry span (the request's transaction, a `#[monitored]` call's span or
    /// another such span), with their fields as data under the same rules as events' fields;
    /// `LevelFilter::OFF` (the default): none. The spans of `#[monitored]` calls are not
    /// made twice, and a transaction takes at most 500 of these (half of what Sentry keeps).
    ///
    /// ```
    /// use tracing_subscriber::filter::LevelFilter;
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(vk_monitor::tracing::layer().spans(LevelFilter::INFO));
    /// # drop(subscriber);
    /// ```
    pub fn spans(mut self, level: LevelFilter) -> Self {
        self.spans = level;
        self
    }
}

impl<S> Layer<S> for SentryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        sentry_events::send(event, self.breadcrumbs, self.events);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.spans != LevelFilter::OFF {
            sentry_spans::on_new_span(attrs, id, &ctx, self.spans);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.spans != LevelFilter::OFF {
            sentry_spans::on_record(id, values, &ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.spans != LevelFilter::OFF {
            sentry_spans::on_enter(id, &ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.spans != LevelFilter::OFF {
            sentry_spans::on_exit(id, &ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.spans != LevelFilter::OFF {
            sentry_spans::on_close(&id, &ctx);
        }
    }
}
