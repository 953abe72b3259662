//! Sentry: the client and its transport, the spans and transactions of monitored calls and
//! requests, their sampling and the baggage (dynamic sampling context) of their traces, error
//! events, panics, the request data that may be sent, and the per-request context the
//! application adds. With no client running, every entry point costs one relaxed
//! atomic load and touches nothing of the SDK.

mod baggage;
pub(crate) mod client;
pub mod context;
pub(crate) mod events;
mod panics;
pub(crate) mod request;
mod sampling;
pub(crate) mod scrub;
pub(crate) mod spans;
pub(crate) mod state;
pub mod trace;
mod transport;
pub(crate) mod unsampled;
