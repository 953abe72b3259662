//! The runtime of `#[monitored]`: the call site each annotated function owns, the guard that
//! records one call on every exit, the future an async body runs in, the call's `tracing`
//! span, what a returned value's outcome is, and the autoref probes through which the expansion
//! asks the value's type.

mod body;
mod call_site;
mod outcome;
pub mod probe;
pub mod trace_span;
mod type_name;

pub use call_site::CallSite;
pub use outcome::{MonitoredError, Outcome};
