//! Prometheus metrics: the exporter (the process's `metrics` recorder and `GET /metrics`), the
//! cardinality guard in front of it, the recorder state call sites read, this crate's
//! fixed-bucket histograms and in-flight counts, the cache of per-label handles, and the names
//! of every metric this crate emits.

mod cardinality;
pub(crate) mod exporter;
mod handle_cache;
pub(crate) mod histogram;
pub(crate) mod in_flight;
pub mod names;
mod recording;

pub use cardinality::DEFAULT_MAX_SERIES;
pub use exporter::CONTENT_TYPE;
pub(crate) use handle_cache::HandleCache;
pub(crate) use histogram::Histogram;
pub(crate) use in_flight::InFlight;
pub use recording::DEFAULT_BUCKETS;
pub(crate) use recording::is_recording;
