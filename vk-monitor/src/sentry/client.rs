//! The Sentry client: set up from the validated [`Config`](crate::Config), with sampling and
//! filtering decided here, and owned by a guard that flushes pending events when dropped.

use std::sync::Arc;
use std::time::Duration;

use sentry::protocol::Event;
use sentry::{ClientInitGuard, ClientOptions, TransactionContext};

use crate::config::Config;
use crate::http_metrics::DEFAULT_EXCLUDED_ROUTES;

/// How long dropping the guard waits for pending envelopes, at most.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the Sentry client when a DSN is configured. The options are built from validated
/// values only: the SDK's setters panic on a malformed DSN or a rate outside 0..=1.
pub(crate) fn init(config: &Config, release: &str, ignore: Vec<String>) -> Option<ClientInitGuard> {
    let dsn = config.sentry_dsn.clone()?;
    let rate = if config.apm_enabled {
        config.traces_sample_rate
    } else {
        0.0
    };
    let mut options = ClientOptions::new()
        .release(release.to_owned())
        .environment(config.environment.clone())
        .debug(config.debug)
        .send_default_pii(config.send_default_pii)
        .shutdown_timeout(FLUSH_TIMEOUT)
        .transport(crate::transport::CountingTransportFactory)
        .traces_sampler(move |context| traces_sample_rate(context, rate))
        .before_send(move |event| keep_event(event, &ignore));
    options.dsn = Some(dsn);
    options.default_integrations = false;
    options.integrations = crate::sentry_panics::integrations();
    let guard = sentry::init(options);
    crate::spans::activate(rate, config.send_default_pii);
    Some(guard)
}

/// Monitoring routes are never sampled; a parent's decision is honoured; otherwise `rate`.
fn traces_sample_rate(context: &TransactionContext, rate: f32) -> f32 {
    if is_monitoring_transaction(context.name()) {
        return 0.0;
    }
    match context.sampled() {
        Some(true) => 1.0,
        Some(false) => 0.0,
        None => rate,
    }
}

/// `GET /health` and friends: transactions are named `METHOD /route`.
fn is_monitoring_transaction(name: &str) -> bool {
    let route = name.split_once(' ').map_or(name, |(_, route)| route);
    DEFAULT_EXCLUDED_ROUTES.contains(&route)
}

/// Drops noise: events from monitoring requests, rate-limit (429) errors, and errors whose type
/// or message contains one of the ignored patterns.
fn keep_event(event: Event<'static>, ignore: &[String]) -> Option<Event<'static>> {
    let from_monitoring = event
        .request
        .as_ref()
        .and_then(|request| request.url.as_ref())
        .is_some_and(|url| DEFAULT_EXCLUDED_ROUTES.contains(&url.path()));
    let rate_limited = event
        .tags
        .get("http.status_code")
        .is_some_and(|status| status == "429");
    let ignored = event.exception.values.iter().any(|exception| {
        ignore.iter().any(|pattern| {
            exception.ty.contains(pattern.as_str())
                || exception
                    .value
                    .as_deref()
                    .is_some_and(|value| value.contains(pattern.as_str()))
        })
    }) || event.message.as_deref().is_some_and(|message| {
        ignore
            .iter()
            .any(|pattern| message.contains(pattern.as_str()))
    });
    (!(from_monitoring || rate_limited || ignored)).then_some(event)
}

/// Keeps the client alive; the last clone dropped flushes within [`FLUSH_TIMEOUT`].
pub(crate) type SentryGuard = Arc<ClientInitGuard>;

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Exception, Request};

    #[test]
    fn monitoring_routes_are_never_sampled_and_parents_decide() {
        let context = |name: &str| TransactionContext::new(name, "http.server");
        assert_eq!(traces_sample_rate(&context("GET /health"), 1.0), 0.0);
        assert_eq!(traces_sample_rate(&context("GET /metrics"), 1.0), 0.0);
        assert_eq!(traces_sample_rate(&context("GET /calls/{id}"), 0.25), 0.25);
        let mut sampled = context("GET /calls/{id}");
        sampled.set_sampled(Some(true));
        assert_eq!(traces_sample_rate(&sampled, 0.0), 1.0);
        sampled.set_sampled(Some(false));
        assert_eq!(traces_sample_rate(&sampled, 1.0), 0.0);
    }

    #[test]
    fn noise_is_dropped_before_sending() {
        let ignore = vec!["ConnectionReset".to_owned()];
        let error = |ty: &str| {
            let mut event = Event::new();
            event.exception.values.push(Exception {
                ty: ty.into(),
                ..Default::default()
            });
            event
        };
        assert!(keep_event(error("DatabaseError"), &ignore).is_some());
        assert!(keep_event(error("ConnectionReset"), &ignore).is_none());

        let mut health = error("DatabaseError");
        health.request = Some(Request {
            url: "http://pod:3000/ready".parse().ok(),
            ..Default::default()
        });
        assert!(keep_event(health, &ignore).is_none());

        let mut throttled = error("UpstreamError");
        throttled
            .tags
            .insert("http.status_code".into(), "429".into());
        assert!(keep_event(throttled, &ignore).is_none());
    }
}
