//! Outgoing HTTP calls: per request, the RED metrics of the host called, an `http.client`
//! Sentry span child of the current span, and the headers that continue the trace in the
//! service called. One implementation behind two front ends: a tower layer ([`ClientLayer`],
//! for hyper and other tower clients) and, with the cargo feature `reqwest`, a
//! `reqwest-middleware` middleware (`ClientMiddleware`).
//!
//! - `http_client_requests_total{method, host, status}`
//! - `http_client_request_duration_seconds{method, host, status}`, timed to the response head
//! - `http_client_requests_in_flight{method, host}`
//! - `http_client_errors_total{method, host, kind}`
//!
//! `status` is the response's code, [`ERROR_STATUS`] when the request failed without a
//! response (its `kind` is then one of [`ErrorKind`]), or [`CANCELLED_STATUS`] when the request
//! future was dropped before the answer (a timeout around it, a `select!` that went the other
//! way). `host` is the URL's host, with its port when the URL names one: at most
//! [`DEFAULT_MAX_HOSTS`] hosts per layer or middleware (configurable), every further host is
//! [`OTHER_HOST`], so a client that follows user-given URLs cannot add series without bound.
//!
//! The span's description is `METHOD scheme://host/path`: the [`PathTemplate`] given with the
//! request when there is one (`/calls/{id}`), else the path without its query. The trace
//! headers (`sentry-trace`, `traceparent`, `baggage`) go only to the hosts
//! `SENTRY_TRACE_PROPAGATION_TARGETS` allows (every host by default).

mod call;
mod classify;
mod future;
mod handles;
mod layer;
#[cfg(feature = "reqwest")]
mod reqwest;

pub use classify::{BoxError, ErrorKind, TimedOut};
pub use future::ClientFuture;
pub use layer::{ClientLayer, ClientService};
#[cfg(feature = "reqwest")]
pub use reqwest::ClientMiddleware;

/// How many distinct hosts a [`ClientLayer`] or `ClientMiddleware` labels by name unless
/// told otherwise; calls to further hosts are labelled [`OTHER_HOST`].
pub const DEFAULT_MAX_HOSTS: usize = 20;

/// The `host` label of calls to hosts beyond the limit.
pub const OTHER_HOST: &str = "other";

/// The `status` label of a request that failed without a response.
pub const ERROR_STATUS: &str = crate::work::ERROR;

/// The `status` label of a request cancelled (its future dropped) before its answer.
pub const CANCELLED_STATUS: &str = crate::work::CANCELLED;

/// The route template of an outgoing request, for its span's description: added to the
/// request's extensions, it replaces the path, so that `GET /calls/17` and `GET /calls/18`
/// share a name. Metrics do not use the path at all.
///
/// ```
/// use vk_monitor::client::PathTemplate;
///
/// let mut request = http::Request::get("http://speech.internal/v1/calls/17").body(()).unwrap();
/// request.extensions_mut().insert(PathTemplate::new("/v1/calls/{id}"));
/// ```
///
/// With `reqwest-middleware`: `client.get(url).with_extension(PathTemplate::new("/v1/calls/{id}"))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTemplate(std::borrow::Cow<'static, str>);

impl PathTemplate {
    /// A template such as `/v1/calls/{id}`.
    pub fn new(template: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        PathTemplate(template.into())
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
