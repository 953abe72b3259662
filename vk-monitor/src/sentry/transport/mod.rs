//! The transport that sends envelopes to Sentry: a bounded queue in front of one sending
//! thread (`sender.rs`), so a slow or unreachable Sentry never slows a request down. Whatever
//! cannot be sent (queue full, rate limited, network error, rejected) is counted in
//! `sentry_envelopes_dropped_total{reason}` (`dropped.rs`), never lost silently.
//!
//! While Sentry asks us to wait (429) or cannot be reached, envelopes are dropped where they
//! are produced, before they are queued or serialised (`pause.rs`): a Sentry outage costs the
//! application an atomic load per envelope, not a connection attempt.
//!
//! Each envelope of a trace is sent with the trace's dynamic sampling context in its header
//! (`trace_header.rs`).

mod dropped;
mod pause;
mod sender;
mod trace_header;

use std::sync::Arc;

use sentry::{Transport, TransportFactory, TransportOptions};

use dropped::Dropped;
use sender::SendingThread;

/// The SDK's transport: ours.
pub(crate) struct CountingTransportFactory;

impl TransportFactory for CountingTransportFactory {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        // Every reason starts at 0, so the first drop is an increase that rates and alerts see.
        for reason in Dropped::ALL {
            reason.counter();
        }
        Arc::new(SendingThread::start(options))
    }
}
