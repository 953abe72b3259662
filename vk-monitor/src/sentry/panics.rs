//! Panics reported to Sentry. The SDK's panic hook flushes the client after every panic, so
//! that a crashing process sends its last event; for a panic this crate catches and survives
//! (the HTTP layer answers 500 and serves on, a health check fails), that flush only holds a
//! tokio worker for up to the flush timeout whenever Sentry is slow. This hook reports the same
//! event, linked to the trace of the span the panic happened in, and flushes only when the
//! panic is not known to be survived and the thread is no runtime's.

use std::panic::PanicHookInfo;
use std::sync::{Arc, Once};

use sentry::integrations::panic::PanicIntegration;
use sentry::{ClientOptions, Integration};

use super::events;
use crate::catch_panic;

/// The panic integration: the SDK's event (message, stack trace, mechanism), our flushing rule.
#[derive(Default)]
pub(crate) struct PanicReporting {
    events: PanicIntegration,
}

impl Integration for PanicReporting {
    fn name(&self) -> &'static str {
        "panic"
    }

    fn setup(&self, _options: &mut ClientOptions) {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let next = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                report(info);
                next(info);
            }));
        });
    }
}

fn report(info: &PanicHookInfo<'_>) {
    sentry::with_integration(|integration: &PanicReporting, hub| {
        let mut event = integration.events.event_from_panic_info(info);
        // Our spans live in a thread-local, not on the hub's scope: link the event ourselves,
        // so the panic shows in its request's trace.
        events::link_to_current_trace(&mut event);
        events::bound_text(&mut event);
        hub.capture_event(event);
        if must_flush()
            && let Some(client) = hub.client()
        {
            client.flush(None);
        }
    });
}

/// Whether to wait for the event to be sent before the panic goes on: only when it may end the
/// process and nothing else would send it. Never on a tokio runtime's thread (a worker, a
/// blocking-pool thread, the metrics listener's): the flush would hold it for up to the flush
/// timeout whenever Sentry is slow. A panic there is a task's, which tokio catches while the
/// process serves on, or leaves `block_on` and unwinds through `main`, where dropping the
/// monitor flushes; the sending thread delivers the event meanwhile either way.
fn must_flush() -> bool {
    // With `panic = "abort"` nothing unwinds and the process ends right after this hook.
    cfg!(panic = "abort")
        || (!catch_panic::is_survivable() && tokio::runtime::Handle::try_current().is_err())
}

/// The SDK's default integrations for the features we build with, with [`PanicReporting`] in
/// place of its panic integration, in the SDK's order.
pub(crate) fn integrations() -> Vec<Arc<dyn Integration>> {
    use sentry::integrations::backtrace::{
        AttachStacktraceIntegration, ProcessStacktraceIntegration,
    };
    use sentry::integrations::contexts::ContextIntegration;
    vec![
        Arc::new(AttachStacktraceIntegration),
        Arc::new(ContextIntegration::default()),
        Arc::new(PanicReporting::default()),
        Arc::new(ProcessStacktraceIntegration),
    ]
}
