//! Prometheus metrics: the exporter (the process's `metrics` recorder, for the application's
//! metrics, and `GET /metrics`), the cardinality guard in front of the recorder, the recorder
//! state call sites read, this crate's own storage (fixed-bucket histograms, counters, gauges
//! and in-flight counts, with exemplars) and the recording of a finished unit of work in it,
//! the per-thread cells they count in, the cache of per-label handles, the exposition formats
//! and their negotiation, and the one table of the families this crate records.

mod cardinality;
pub(crate) mod counter;
pub(crate) mod error;
pub(crate) mod exemplar;
pub(crate) mod exporter;
mod families;
mod finished;
mod format;
pub(crate) mod gauge;
mod handle_cache;
pub(crate) mod histogram;
pub(crate) mod in_flight;
pub mod names;
mod openmetrics;
mod recording;
mod scrape;
mod shard;

pub use cardinality::DEFAULT_MAX_SERIES;
pub(crate) use finished::record_finished;
pub use format::{CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE};
pub(crate) use handle_cache::{FnvBuild, HandleCache};
pub(crate) use histogram::Histogram;
pub(crate) use in_flight::InFlight;
pub use recording::DEFAULT_BUCKETS;
pub(crate) use recording::is_recording;
