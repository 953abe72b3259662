//! HTTP server monitoring: a tower layer ([`MonitorLayer`]) that records, per request, the RED
//! metrics of the matched route, starts the request's Sentry transaction, and answers a
//! handler's panic with a `500`.
//!
//! - `http_requests_total{method, route, status}`
//! - `http_request_duration_seconds{method, route, status}`, timed to the end of the body
//! - `http_requests_in_flight{method, route}`
//!
//! `route` is the route template axum matched (`/calls/{id}`), never the raw path: requests
//! that match no route share [`UNMATCHED_ROUTE`], so a scanner adds no series. A request whose
//! future or body is dropped before the end (the client went away) is counted with
//! [`CANCELLED_STATUS`], and always leaves the in-flight gauge. A handler that panics is
//! answered with `500 Internal Server Error` by the layer and recorded with that status.

// The layer makes a service that starts a tracker per request (its series from the core,
// `work`, named by the route scope in `handles`); the response future polls the handler and hands the tracker to the body, which
// records the request when it ends.
mod body;
mod future;
mod handles;
mod layer;
mod service;
mod tracker;

pub use crate::routes::{DEFAULT_EXCLUDED_ROUTES, UNMATCHED_ROUTE};
pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::MonitorLayer;
pub use service::MonitorService;
pub use tracker::CANCELLED_STATUS;

#[cfg(test)]
mod tests;
