//! The transport that sends envelopes to Sentry: a bounded queue in front of one sending
//! thread, so a slow or unreachable Sentry never slows a request down. Whatever cannot be sent
//! (queue full, rate limited, network error, rejected) is counted in
//! `sentry_envelopes_dropped_total{reason}`, never lost silently.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sentry::TransportOptions;
use sentry::{Envelope, Transport, TransportFactory};

use crate::metric_names::SENTRY_ENVELOPES_DROPPED_TOTAL;

/// Envelopes waiting to be sent, at most.
pub(crate) const QUEUE_CAPACITY: usize = 256;
/// How long one send may take before it counts as a network error.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to stop sending after a 429 without a usable `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// Why an envelope was not delivered: the `reason` label.
#[derive(Clone, Copy, Debug)]
enum Dropped {
    QueueFull,
    RateLimited,
    NetworkError,
    Rejected,
}

impl Dropped {
    fn count(self) {
        let reason = match self {
            Dropped::QueueFull => "queue_full",
            Dropped::RateLimited => "rate_limited",
            Dropped::NetworkError => "network_error",
            Dropped::Rejected => "rejected",
        };
        metrics::counter!(SENTRY_ENVELOPES_DROPPED_TOTAL, "reason" => reason).increment(1);
    }
}

pub(crate) struct CountingTransportFactory;

impl TransportFactory for CountingTransportFactory {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        Arc::new(SendingThread::start(options))
    }
}

/// Envelopes queued or being sent; flushing waits for it to reach zero.
#[derive(Default)]
struct Pending {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Pending {
    fn add(&self, delta: isize) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_add_signed(delta);
        self.changed.notify_all();
    }

    fn wait_empty(&self, timeout: Duration) -> bool {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, _) = self
            .changed
            .wait_timeout_while(count, timeout, |count| *count > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *count == 0
    }
}

struct SendingThread {
    queue: SyncSender<Envelope>,
    pending: Arc<Pending>,
}

impl SendingThread {
    fn start(options: TransportOptions) -> Self {
        let (queue, receiver) = sync_channel(QUEUE_CAPACITY);
        let pending = Arc::new(Pending::default());
        let worker_pending = Arc::clone(&pending);
        let spawned = std::thread::Builder::new()
            .name("vk-monitor-sentry".into())
            .spawn(move || send_all(options, receiver, &worker_pending));
        if spawned.is_err() {
            // Without the thread nothing can be sent: the queue fills and every envelope is
            // counted as dropped.
            eprintln!("vk-monitor: warning: could not start the Sentry sending thread");
        }
        SendingThread { queue, pending }
    }
}

impl Transport for SendingThread {
    fn send_envelope(&self, envelope: Envelope) {
        self.pending.add(1);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send(envelope)
        {
            self.pending.add(-1);
            Dropped::QueueFull.count();
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.pending.wait_empty(timeout)
    }
}

fn send_all(options: TransportOptions, receiver: Receiver<Envelope>, pending: &Pending) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let client = match reqwest::Client::builder().timeout(SEND_TIMEOUT).build() {
        Ok(client) => client,
        Err(_) => return,
    };
    let url = options.dsn.envelope_api_url().to_string();
    let auth = options.dsn.to_auth(Some(&options.user_agent)).to_string();
    let mut paused_until: Option<Instant> = None;
    while let Ok(envelope) = receiver.recv() {
        let outcome = if paused_until.is_some_and(|until| Instant::now() < until) {
            Err(Dropped::RateLimited)
        } else {
            let mut body = Vec::new();
            match envelope.to_writer(&mut body) {
                Err(_) => Err(Dropped::Rejected),
                Ok(()) => runtime.block_on(async {
                    let request = client.post(&url).header("X-Sentry-Auth", &auth).body(body);
                    match request.send().await {
                        Err(_) => Err(Dropped::NetworkError),
                        Ok(response) if response.status().as_u16() == 429 => {
                            paused_until = Some(Instant::now() + retry_after(response.headers()));
                            Err(Dropped::RateLimited)
                        }
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(_) => Err(Dropped::Rejected),
                    }
                }),
            }
        };
        if let Err(dropped) = outcome {
            dropped.count();
        }
        pending.add(-1);
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map_or(DEFAULT_BACKOFF, |seconds| {
            Duration::from_secs_f64(seconds.min(3600.0))
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    fn with_retry_after(value: &[u8]) -> Option<HeaderMap> {
        let value = HeaderValue::from_bytes(value).ok()?;
        Some(HeaderMap::from_iter([(RETRY_AFTER, value)]))
    }

    #[test]
    fn retry_after_in_seconds_is_honoured_up_to_an_hour() {
        let pause = |value: &str| retry_after(&with_retry_after(value.as_bytes()).unwrap());
        assert_eq!(pause("30"), Duration::from_secs(30));
        assert_eq!(pause(" 1.5 "), Duration::from_millis(1500));
        assert_eq!(pause("0"), Duration::ZERO);
        assert_eq!(pause("86400"), Duration::from_secs(3600));
        assert_eq!(pause("1e308"), Duration::from_secs(3600));
        for unusable in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "-1",
            "NaN",
            "inf",
            "",
            "0x10",
        ] {
            assert_eq!(pause(unusable), DEFAULT_BACKOFF, "{unusable}");
        }
        assert_eq!(retry_after(&HeaderMap::new()), DEFAULT_BACKOFF);
    }

    proptest! {
        #[test]
        fn any_retry_after_gives_a_pause_of_at_most_an_hour(
            value in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                any::<f64>().prop_map(|f| f.to_string().into_bytes()),
                "[ \t]{0,2}[-+]?[0-9]{0,400}(\\.[0-9]{0,20})?(e[-+]?[0-9]{1,4})?"
                    .prop_map(String::into_bytes),
            ],
        ) {
            if let Some(headers) = with_retry_after(&value) {
                prop_assert!(retry_after(&headers) <= Duration::from_secs(3600));
            }
        }

        #[test]
        fn whole_seconds_are_honoured(seconds in 0u64..100_000, padding in "[ \t]{0,2}") {
            let headers = with_retry_after(format!("{padding}{seconds}{padding}").as_bytes()).unwrap();
            prop_assert_eq!(retry_after(&headers), Duration::from_secs(seconds.min(3600)));
        }
    }
}
