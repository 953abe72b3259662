//! The sending thread: envelopes queued by producers are serialised and posted to Sentry one at
//! a time, and flushes wait for the queue to empty.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use sentry::{Envelope, Transport, TransportOptions};

use super::dropped::Dropped;
use super::pause::{Category, Pauses, failure_backoff, retry_after};
use super::trace_header;
use crate::sentry::baggage::TraceBaggage;

/// An envelope with its category, and its trace's baggage when it belongs to a traced call.
type Queued = (Category, Envelope, Option<Arc<TraceBaggage>>);

/// Envelopes waiting to be sent, at most.
const QUEUE_CAPACITY: usize = 256;
/// How long one send may take before it counts as a network error.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Envelopes queued or being sent; flushing waits for it to reach zero. The count is an
/// atomic, so producers touch the lock only when the count returns to zero (when a flush may
/// be waiting), not on every envelope.
#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    lock: Mutex<()>,
    emptied: Condvar,
}

impl Pending {
    fn add(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn done(&self) {
        let before = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        if before <= 1 {
            // Under the lock, so a flush between its check and its wait cannot miss this.
            let _locked = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.emptied.notify_all();
        }
    }

    fn wait_empty(&self, timeout: Duration) -> bool {
        let locked = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (_locked, _) = self
            .emptied
            .wait_timeout_while(locked, timeout, |()| self.count.load(Ordering::SeqCst) > 0)
            .unwrap_or_else(PoisonError::into_inner);
        self.count.load(Ordering::SeqCst) == 0
    }
}

pub(super) struct SendingThread {
    /// Envelopes with their category and baggage, worked out once by the producer (the
    /// baggage is known on its thread only).
    queue: SyncSender<Queued>,
    pending: Arc<Pending>,
    pauses: Arc<Pauses>,
}

impl SendingThread {
    pub(super) fn start(options: TransportOptions) -> Self {
        let (queue, receiver) = sync_channel(QUEUE_CAPACITY);
        let pending = Arc::new(Pending::default());
        let pauses = Arc::new(Pauses::new());
        let (worker_pending, worker_pauses) = (Arc::clone(&pending), Arc::clone(&pauses));
        let spawned = std::thread::Builder::new()
            .name("vk-monitor-sentry".into())
            .spawn(move || send_all(options, receiver, &worker_pending, &worker_pauses));
        if spawned.is_err() {
            // Without the thread nothing can be sent: the queue fills and every envelope is
            // counted as dropped.
            eprintln!("vk-monitor: warning: could not start the Sentry sending thread");
        }
        SendingThread {
            queue,
            pending,
            pauses,
        }
    }
}

impl Transport for SendingThread {
    fn send_envelope(&self, envelope: Envelope) {
        let category = Category::of(&envelope);
        if let Some(reason) = self.pauses.active(category) {
            reason.count();
            return;
        }
        self.pending.add();
        let baggage = trace_header::baggage_of(&envelope);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send((category, envelope, baggage))
        {
            self.pending.done();
            Dropped::QueueFull.count();
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.pending.wait_empty(timeout)
    }
}

fn send_all(
    options: TransportOptions,
    receiver: Receiver<Queued>,
    pending: &Pending,
    pauses: &Pauses,
) {
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
    let mut failures = 0u32;
    while let Ok((category, envelope, baggage)) = receiver.recv() {
        // Checked again: a pause may have begun while the envelope waited in the queue.
        let outcome = if let Some(reason) = pauses.active(category) {
            Err(reason)
        } else {
            let mut body = Vec::new();
            match envelope.to_writer(&mut body) {
                Err(_) => Err(Dropped::Rejected),
                Ok(()) => runtime.block_on(async {
                    if let Some(baggage) = &baggage {
                        body = trace_header::with_trace(body, baggage);
                    }
                    let request = client.post(&url).header("X-Sentry-Auth", &auth).body(body);
                    match request.send().await {
                        Err(_) => {
                            failures = failures.saturating_add(1);
                            if let Some(length) = failure_backoff(failures) {
                                pauses.all.start(length, Dropped::NetworkError);
                            }
                            Err(Dropped::NetworkError)
                        }
                        Ok(response) => {
                            failures = 0;
                            pauses.all.clear();
                            // Sentry states its limits on any answer, successful ones too.
                            let limited = response
                                .headers()
                                .get("x-sentry-rate-limits")
                                .and_then(|value| value.to_str().ok())
                                .is_some_and(|header| pauses.limit(header));
                            if response.status().as_u16() == 429 {
                                if !limited {
                                    let length = retry_after(response.headers());
                                    pauses.all.start(length, Dropped::RateLimited);
                                }
                                Err(Dropped::RateLimited)
                            } else if response.status().is_success() {
                                Ok(())
                            } else {
                                Err(Dropped::Rejected)
                            }
                        }
                    }
                }),
            }
        };
        if let Err(dropped) = outcome {
            dropped.count();
        }
        pending.done();
    }
}
