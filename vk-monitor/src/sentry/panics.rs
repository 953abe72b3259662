//! Panics reported to Sentry. The SDK's panic hook flushes the client after every panic, so
//! that a crashing process sends its last event; for a panic the HTTP layer survives (it
//! answers 500 and serves on), that flush only holds a tokio worker for up to the flush timeout
//! whenever Sentry is slow. This hook reports the same event, linked to the trace of the span
//! the panic happened in, and flushes only when the panic is not known to be survived.

use std::cell::Cell;
use std::panic::PanicHookInfo;
use std::sync::{Arc, Once};

use sentry::integrations::panic::PanicIntegration;
use sentry::{ClientOptions, Integration};

thread_local! {
    /// Set while code runs under a `catch_unwind` that turns a panic into a response.
    static SURVIVABLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, which catches panics itself: a panic inside is reported without a flush.
pub(crate) fn survivable<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SURVIVABLE.set(self.0);
        }
    }
    let _restore = Restore(SURVIVABLE.replace(true));
    f()
}

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
        crate::spans::link_to_current_trace(&mut event);
        hub.capture_event(event);
        if !SURVIVABLE.get()
            && let Some(client) = hub.client()
        {
            client.flush(None);
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survivable_is_scoped_and_restored_after_a_panic() {
        assert!(!SURVIVABLE.get());
        let caught = survivable(|| {
            assert!(SURVIVABLE.get());
            std::panic::catch_unwind(|| survivable(|| panic!("inner")))
        });
        assert!(caught.is_err());
        assert!(!SURVIVABLE.get(), "restored on the way out");
    }
}
