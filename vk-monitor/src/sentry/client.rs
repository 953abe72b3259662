//! The Sentry client: set up from the validated [`Config`](crate::Config), with sampling and
//! filtering decided here, and owned by a guard that flushes pending events when dropped.

use std::sync::Arc;
use std::time::Duration;

use sentry::protocol::Event;
use sentry::{ClientInitGuard, ClientOptions, TracesSamplingStrategy, TransactionContext};

use super::{events, panics, request, spans, state, transport};
use crate::config::{Config, SamplingContext};
use crate::routes::ExcludedRoutes;

/// How long dropping the guard waits for pending envelopes, at most.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What is never sent: transactions and events of excluded routes, and errors matching one of
/// the ignored patterns.
pub(crate) struct Filters {
    /// Patterns of error types or messages.
    pub(crate) ignore: Vec<String>,
    /// The HTTP layer's excluded routes.
    pub(crate) excluded: ExcludedRoutes,
}

/// The application's changes to the client options: [`MonitorBuilder::sentry_options`].
///
/// [`MonitorBuilder::sentry_options`]: crate::MonitorBuilder::sentry_options
pub(crate) type AdjustOptions = Box<dyn FnOnce(&mut ClientOptions)>;

/// A Sentry client ready to start: the options built and checked, nothing installed yet.
pub(crate) struct PreparedClient {
    options: ClientOptions,
    tracing: state::Tracing,
    rate: f32,
    send_default_pii: bool,
    follow_incoming_sampling: bool,
}

/// Why no client can be started.
#[derive(Debug)]
pub(crate) enum PrepareError {
    /// The application runs a client of its own.
    AlreadyInitialized,
    /// The application changed `field`, which is configured with `set_with`.
    Owned {
        field: &'static str,
        set_with: &'static str,
    },
}

/// What a changed option is set with instead, for the fields the configuration owns.
const OWNED: [(&str, &str); 6] = [
    ("dsn", "SENTRY_DSN or ConfigBuilder::sentry_dsn"),
    ("release", "RELEASE_VERSION or ConfigBuilder::release"),
    (
        "environment",
        "APM_ENVIRONMENT or ConfigBuilder::environment",
    ),
    ("debug", "SENTRY_DEBUG or ConfigBuilder::debug"),
    (
        "send_default_pii",
        "SENTRY_SEND_DEFAULT_PII or ConfigBuilder::send_default_pii",
    ),
    (
        "traces_sampling_strategy",
        "SENTRY_TRACES_SAMPLE_RATE, ConfigBuilder::traces_sample_rate or ConfigBuilder::traces_sampler",
    ),
];

/// Builds the client's options when a DSN is configured, with the application's changes,
/// and checks them; fails when one of the options the configuration owns was changed, or when
/// the application runs a client of its own. The options are built from validated values
/// only: the SDK's setters panic on a malformed DSN or a rate outside 0..=1.
pub(crate) fn prepare(
    config: &Config,
    release: &str,
    filters: Filters,
    adjust: Option<AdjustOptions>,
) -> Result<Option<PreparedClient>, PrepareError> {
    let Some(dsn) = config.sentry_dsn.clone() else {
        return Ok(None);
    };
    if sentry::Hub::main()
        .client()
        .is_some_and(|client| client.is_enabled())
    {
        return Err(PrepareError::AlreadyInitialized);
    }
    let rate = if config.apm_enabled {
        config.traces_sample_rate
    } else {
        0.0
    };
    let filters = Arc::new(filters);
    let sampler_filters = Arc::clone(&filters);
    let mut options = ClientOptions::new()
        .release(release.to_owned())
        .environment(config.environment.clone())
        .debug(config.debug)
        .send_default_pii(config.send_default_pii)
        .shutdown_timeout(FLUSH_TIMEOUT)
        .transport(transport::CountingTransportFactory)
        .traces_sampler(move |context| sampler_filters.sample_rate(context, state::traces_rate()));
    options.dsn = Some(dsn.clone());
    options.default_integrations = false;
    options.integrations = panics::integrations();
    let ours = move |mut event| {
        // Described first: an excluded route's events are dropped by their transaction name.
        request::describe(&mut event);
        // An event the application captures itself, inside a traced call or request,
        // belongs to its trace (and so is sent with the trace's sampling context).
        events::link_to_current_trace_unless_linked(&mut event);
        filters.keep(event)
    };
    if let Some(adjust) = adjust {
        let before = owned_fields(&options);
        adjust(&mut options);
        let after = owned_fields(&options);
        if let Some(changed) = (0..OWNED.len()).find(|&i| before[i] != after[i]) {
            let (field, set_with) = OWNED[changed];
            return Err(PrepareError::Owned { field, set_with });
        }
    }
    // Ours first, so that what the filters drop and what the allow-list removes never reach
    // the application's callback.
    options.before_send = Some(match options.before_send.take() {
        None => Arc::new(ours),
        Some(theirs) => Arc::new(move |event| ours(event).and_then(|event| theirs(event))),
    });
    Ok(Some(PreparedClient {
        tracing: state::Tracing {
            sampler: config.traces_sampler.clone(),
            targets: config.trace_propagation_targets.clone(),
            public_key: dsn.public_key().to_owned(),
            release: release.to_owned(),
            environment: config.environment.clone(),
        },
        options,
        rate,
        send_default_pii: config.send_default_pii,
        follow_incoming_sampling: config.follow_incoming_sampling,
    }))
}

/// The owned options as comparable text; the sampler by its address, since only ours may be
/// there.
fn owned_fields(options: &ClientOptions) -> [String; 6] {
    let sampling = match &options.traces_sampling_strategy {
        TracesSamplingStrategy::Function(sampler) => format!("fn {:p}", Arc::as_ptr(sampler)),
        TracesSamplingStrategy::FixedRate(rate) => format!("rate {rate}"),
        // `non_exhaustive`: a strategy added later is compared by its description.
        other => format!("{other:?}"),
    };
    [
        format!("{:?}", options.dsn),
        format!("{:?}", options.release),
        format!("{:?}", options.environment),
        options.debug.to_string(),
        options.send_default_pii.to_string(),
        sampling,
    ]
}

/// Starts the prepared client, or records that there is none.
pub(crate) fn start(prepared: Option<PreparedClient>) -> Option<ClientInitGuard> {
    let Some(prepared) = prepared else {
        state::set_tracing(None);
        return None;
    };
    let guard = sentry::init(prepared.options);
    state::set_tracing(Some(prepared.tracing));
    state::activate(
        prepared.rate,
        prepared.send_default_pii,
        prepared.follow_incoming_sampling,
    );
    Some(guard)
}

impl Filters {
    /// Nothing is sampled with tracing off (`rate` 0) and excluded routes never are; this
    /// crate's own transactions were decided before they started. One the application starts
    /// itself (`sentry::start_transaction`) is sampled as ours are: by the configured sampler,
    /// told the parent's decision; without one, by that decision when it is followed, else
    /// at `rate`.
    fn sample_rate(&self, context: &TransactionContext, rate: f32) -> f32 {
        if rate <= 0.0 || self.is_excluded_transaction(context.name()) {
            return 0.0;
        }
        if spans::decided_here() {
            return if context.sampled() == Some(true) {
                1.0
            } else {
                0.0
            };
        }
        if state::has_sampler()
            && let Some(sampler) = state::tracing().as_ref().and_then(|t| t.sampler.clone())
        {
            return sampler.rate(&SamplingContext {
                name: context.name(),
                op: context.operation(),
                route: None,
                parent_sampled: context.sampled(),
            });
        }
        match context
            .sampled()
            .filter(|_| state::follow_incoming_sampling())
        {
            Some(true) => 1.0,
            Some(false) => 0.0,
            None => rate,
        }
    }

    /// `GET /health` and friends: transactions are named `METHOD /route`.
    fn is_excluded_transaction(&self, name: &str) -> bool {
        let route = name.split_once(' ').map_or(name, |(_, route)| route);
        self.excluded.contains(route)
    }

    /// Drops noise: events from excluded routes, rate-limit (429) errors, and errors whose
    /// type or message contains one of the ignored patterns.
    fn keep(&self, event: Event<'static>) -> Option<Event<'static>> {
        let ignore = &self.ignore;
        // The HTTP layer names each request's events after its transaction; an event captured
        // elsewhere may still carry a URL.
        let from_excluded = event
            .transaction
            .as_deref()
            .is_some_and(|name| self.is_excluded_transaction(name))
            || event
                .request
                .as_ref()
                .and_then(|request| request.url.as_ref())
                .is_some_and(|url| self.excluded.matches_path(url.path()));
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
        (!(from_excluded || rate_limited || ignored)).then_some(event)
    }
}

/// Keeps the client alive; the last clone dropped flushes within [`FLUSH_TIMEOUT`].
pub(crate) type SentryGuard = Arc<ClientInitGuard>;

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Exception, Request};

    fn filters(ignore: &[&str]) -> Filters {
        Filters {
            ignore: ignore.iter().map(|&pattern| pattern.to_owned()).collect(),
            excluded: ExcludedRoutes::default(),
        }
    }

    #[test]
    fn monitoring_routes_are_never_sampled_and_parents_decide() {
        let traces_sample_rate =
            |context: &TransactionContext, rate| filters(&[]).sample_rate(context, rate);
        let context = |name: &str| TransactionContext::new(name, "http.server");
        assert_eq!(traces_sample_rate(&context("GET /health"), 1.0), 0.0);
        assert_eq!(traces_sample_rate(&context("GET /metrics"), 1.0), 0.0);
        assert_eq!(traces_sample_rate(&context("GET /calls/{id}"), 0.25), 0.25);
        let mut sampled = context("GET /calls/{id}");
        sampled.set_sampled(Some(true));
        assert_eq!(traces_sample_rate(&sampled, 0.5), 1.0);
        assert_eq!(
            traces_sample_rate(&sampled, 0.0),
            0.0,
            "tracing off: no parent turns it on"
        );
        sampled.set_sampled(Some(false));
        assert_eq!(traces_sample_rate(&sampled, 1.0), 0.0);
    }

    #[test]
    fn noise_is_dropped_before_sending() {
        let ignore = filters(&["ConnectionReset"]);
        let keep_event = |event, filters: &Filters| filters.keep(event);
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

    #[test]
    fn routes_excluded_by_the_user_are_filtered_too() {
        let filters = Filters {
            ignore: Vec::new(),
            excluded: ExcludedRoutes::default().with("/internal/{id}"),
        };
        let context = TransactionContext::new("GET /internal/{id}", "http.server");
        assert_eq!(filters.sample_rate(&context, 1.0), 0.0);
        let mut event = Event::new();
        event.request = Some(Request {
            url: "http://pod:3000/internal/42".parse().ok(),
            ..Default::default()
        });
        assert!(filters.keep(event).is_none());
        let nothing = Filters {
            ignore: Vec::new(),
            excluded: ExcludedRoutes::none(),
        };
        assert_eq!(nothing.sample_rate(&context, 0.5), 0.5);
    }
}
