//! The transport that sends envelopes to Sentry: a bounded queue in front of one sending
//! thread, so a slow or unreachable Sentry never slows a request down. Whatever cannot be sent
//! (queue full, rate limited, network error, rejected) is counted in
//! `sentry_envelopes_dropped_total{reason}`, never lost silently.
//!
//! While Sentry asks us to wait (429) or cannot be reached, envelopes are dropped where they
//! are produced, before they are queued or serialised: a Sentry outage costs the application
//! an atomic load per envelope, not a connection attempt.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sentry::TransportOptions;
use sentry::protocol::EnvelopeItem;
use sentry::{Envelope, Transport, TransportFactory};

use crate::metric_names::SENTRY_ENVELOPES_DROPPED_TOTAL;

/// Envelopes waiting to be sent, at most.
pub(crate) const QUEUE_CAPACITY: usize = 256;
/// How long one send may take before it counts as a network error.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to stop sending after a 429 without a usable `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest pause after failed sends; the pause doubles from 1 s per further failure.
const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(60);

/// Why an envelope was not delivered: the `reason` label.
#[derive(Clone, Copy, Debug)]
enum Dropped {
    QueueFull,
    RateLimited,
    NetworkError,
    Rejected,
}

impl Dropped {
    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> Self {
        match code {
            0 => Dropped::QueueFull,
            1 => Dropped::RateLimited,
            2 => Dropped::NetworkError,
            _ => Dropped::Rejected,
        }
    }

    fn counter(self) -> metrics::Counter {
        let reason = match self {
            Dropped::QueueFull => "queue_full",
            Dropped::RateLimited => "rate_limited",
            Dropped::NetworkError => "network_error",
            Dropped::Rejected => "rejected",
        };
        metrics::counter!(SENTRY_ENVELOPES_DROPPED_TOTAL, "reason" => reason)
    }

    fn count(self) {
        self.counter().increment(1);
    }
}

pub(crate) struct CountingTransportFactory;

impl TransportFactory for CountingTransportFactory {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        // Every reason starts at 0, so the first drop is an increase that rates and alerts see.
        for reason in [
            Dropped::QueueFull,
            Dropped::RateLimited,
            Dropped::NetworkError,
            Dropped::Rejected,
        ] {
            reason.counter().increment(0);
        }
        Arc::new(SendingThread::start(options))
    }
}

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

/// A pause in sending, decided by the sending thread and read by every producer.
struct Pause {
    origin: Instant,
    /// Nanoseconds after `origin` until which nothing is sent; 0: not paused.
    until: AtomicU64,
    /// Why, as a `Dropped` code: the reason envelopes are counted under meanwhile.
    reason: AtomicU8,
}

impl Pause {
    fn new() -> Self {
        Pause {
            origin: Instant::now(),
            until: AtomicU64::new(0),
            reason: AtomicU8::new(0),
        }
    }

    /// Why an envelope must be dropped now, if sending is paused.
    fn active(&self) -> Option<Dropped> {
        let until = self.until.load(Ordering::Relaxed);
        if until == 0 || self.nanos_since_origin() >= until {
            return None;
        }
        Some(Dropped::from_code(self.reason.load(Ordering::Relaxed)))
    }

    fn start(&self, length: Duration, reason: Dropped) {
        let until = self
            .nanos_since_origin()
            .saturating_add(u64::try_from(length.as_nanos()).unwrap_or(u64::MAX))
            .max(1);
        self.reason.store(reason.code(), Ordering::Relaxed);
        self.until.store(until, Ordering::Relaxed);
    }

    fn clear(&self) {
        self.until.store(0, Ordering::Relaxed);
    }

    fn nanos_since_origin(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What Sentry rate-limits separately: an envelope with a transaction is a transaction, any
/// other one an error (events are all we send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    Error,
    Transaction,
}

impl Category {
    fn of(envelope: &Envelope) -> Self {
        if envelope
            .items()
            .any(|item| matches!(item, EnvelopeItem::Transaction(_)))
        {
            Category::Transaction
        } else {
            Category::Error
        }
    }
}

/// The pauses in force: for everything (a 429 without categories, failing sends), and per
/// category (`X-Sentry-Rate-Limits`, so an exhausted transaction quota does not stop errors).
struct Pauses {
    all: Pause,
    error: Pause,
    transaction: Pause,
}

impl Pauses {
    fn new() -> Self {
        Pauses {
            all: Pause::new(),
            error: Pause::new(),
            transaction: Pause::new(),
        }
    }

    fn active(&self, category: Category) -> Option<Dropped> {
        self.all.active().or_else(|| match category {
            Category::Error => self.error.active(),
            Category::Transaction => self.transaction.active(),
        })
    }

    /// Applies an `X-Sentry-Rate-Limits` header; `false` when it held no usable limit.
    fn limit(&self, header: &str) -> bool {
        let mut applied = false;
        for (length, categories) in rate_limits(header) {
            if categories.is_empty() {
                self.all.start(length, Dropped::RateLimited);
                applied = true;
            }
            for category in categories {
                let pause = match category {
                    "error" | "default" => &self.error,
                    "transaction" => &self.transaction,
                    _ => continue, // categories we never send
                };
                pause.start(length, Dropped::RateLimited);
                applied = true;
            }
        }
        applied
    }
}

/// The limits of an `X-Sentry-Rate-Limits` header: comma-separated
/// `seconds:categories:scope[:reason...]`, categories separated by `;`, none meaning all.
/// Malformed limits are skipped; a pause lasts at most an hour.
fn rate_limits(header: &str) -> Vec<(Duration, Vec<&str>)> {
    header
        .split(',')
        .filter_map(|limit| {
            let mut fields = limit.trim().split(':');
            let seconds = fields.next()?.trim().parse::<f64>().ok()?;
            let categories = fields.next()?;
            fields.next()?; // the scope: present in a well-formed limit, not needed here
            if !seconds.is_finite() || seconds < 0.0 {
                return None;
            }
            let categories = categories
                .split(';')
                .map(str::trim)
                .filter(|category| !category.is_empty())
                .collect();
            Some((Duration::from_secs_f64(seconds.min(3600.0)), categories))
        })
        .collect()
}

/// The pause after `failures` consecutive failed sends: none after one (a blip), then 1 s,
/// 2 s, 4 s... up to [`MAX_FAILURE_BACKOFF`].
fn failure_backoff(failures: u32) -> Option<Duration> {
    let doublings = failures.checked_sub(2)?;
    Some(Duration::from_secs(1u64 << doublings.min(16)).min(MAX_FAILURE_BACKOFF))
}

struct SendingThread {
    /// Envelopes with their category, worked out once by the producer.
    queue: SyncSender<(Category, Envelope)>,
    pending: Arc<Pending>,
    pauses: Arc<Pauses>,
}

impl SendingThread {
    fn start(options: TransportOptions) -> Self {
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
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.queue.try_send((category, envelope))
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
    receiver: Receiver<(Category, Envelope)>,
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
    while let Ok((category, envelope)) = receiver.recv() {
        // Checked again: a pause may have begun while the envelope waited in the queue.
        let outcome = if let Some(reason) = pauses.active(category) {
            Err(reason)
        } else {
            let mut body = Vec::new();
            match envelope.to_writer(&mut body) {
                Err(_) => Err(Dropped::Rejected),
                Ok(()) => runtime.block_on(async {
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

/// The pause a `Retry-After` asks for, in seconds or as an HTTP date (RFC 9110), at most an
/// hour; [`DEFAULT_BACKOFF`] when it is missing or unusable.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    let Some(value) = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
    else {
        return DEFAULT_BACKOFF;
    };
    let pause = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Some(Duration::from_secs_f64(seconds.min(3600.0)))
        }
        Ok(_) => None,
        Err(_) => httpdate::parse_http_date(value).ok().map(|date| {
            // A date already past asks for no pause at all.
            date.duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
        }),
    };
    pause.map_or(DEFAULT_BACKOFF, |pause| {
        pause.min(Duration::from_secs(3600))
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
    fn rate_limit_headers_pause_the_categories_they_name() {
        let pauses = Pauses::new();
        assert!(pauses.limit("60:transaction:organization:quota_exceeded"));
        assert!(matches!(
            pauses.active(Category::Transaction),
            Some(Dropped::RateLimited)
        ));
        assert!(pauses.active(Category::Error).is_none(), "errors still go");

        let pauses = Pauses::new();
        assert!(pauses.limit("30::organization, 5:error;default:project"));
        assert!(
            pauses.active(Category::Transaction).is_some(),
            "no categories: all"
        );
        assert!(pauses.active(Category::Error).is_some());

        let pauses = Pauses::new();
        assert!(
            !pauses.limit("60:session;attachment:project"),
            "nothing we send"
        );
        assert!(!pauses.limit("garbage, :, -1:error:org, NaN::org, 60:error"));
        assert!(pauses.active(Category::Error).is_none());
    }

    #[test]
    fn rate_limits_parse_seconds_and_categories() {
        assert_eq!(
            rate_limits("2.5:error;transaction:key, 1e9::org:reason:ns"),
            [
                (Duration::from_millis(2500), vec!["error", "transaction"]),
                (Duration::from_secs(3600), vec![]),
            ]
        );
        assert!(rate_limits("").is_empty());
    }

    #[test]
    fn failures_back_off_from_the_second_up_to_a_minute() {
        let pauses: Vec<Option<u64>> = (0..10)
            .map(|n| failure_backoff(n).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            pauses,
            [
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60)
            ]
        );
        assert_eq!(failure_backoff(u32::MAX), Some(MAX_FAILURE_BACKOFF));
    }

    #[test]
    fn a_pause_drops_with_its_reason_until_it_ends_or_is_cleared() {
        let pause = Pause::new();
        assert!(pause.active().is_none());
        pause.start(Duration::from_secs(60), Dropped::RateLimited);
        assert!(matches!(pause.active(), Some(Dropped::RateLimited)));
        pause.start(Duration::from_secs(60), Dropped::NetworkError);
        assert!(matches!(pause.active(), Some(Dropped::NetworkError)));
        pause.clear();
        assert!(pause.active().is_none());
        pause.start(Duration::ZERO, Dropped::RateLimited);
        std::thread::sleep(Duration::from_millis(1));
        assert!(pause.active().is_none(), "a pause ends by itself");
    }

    #[test]
    fn retry_after_in_seconds_is_honoured_up_to_an_hour() {
        let pause = |value: &str| retry_after(&with_retry_after(value.as_bytes()).unwrap());
        assert_eq!(pause("30"), Duration::from_secs(30));
        assert_eq!(pause(" 1.5 "), Duration::from_millis(1500));
        assert_eq!(pause("0"), Duration::ZERO);
        assert_eq!(pause("86400"), Duration::from_secs(3600));
        assert_eq!(pause("1e308"), Duration::from_secs(3600));
        assert_eq!(
            pause("Wed, 21 Oct 2015 07:28:00 GMT"),
            Duration::ZERO,
            "a date past"
        );
        let in_30_s = std::time::SystemTime::now() + Duration::from_secs(30);
        let until = pause(&httpdate::fmt_http_date(in_30_s));
        assert!(
            (Duration::from_secs(28)..=Duration::from_secs(30)).contains(&until),
            "{until:?}: a date is honoured to the second"
        );
        let next_year = std::time::SystemTime::now() + Duration::from_secs(366 * 86_400);
        assert_eq!(
            pause(&httpdate::fmt_http_date(next_year)),
            Duration::from_secs(3600)
        );
        for unusable in [
            "Wed, 32 Oct 2015 07:28:00 GMT",
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
        fn any_rate_limit_header_gives_pauses_of_at_most_an_hour(header in "\\PC{0,80}|[0-9.e:;, a-z-]{0,80}") {
            for (length, _) in rate_limits(&header) {
                prop_assert!(length <= Duration::from_secs(3600));
            }
            let _ = Pauses::new().limit(&header);
        }

        #[test]
        fn whole_seconds_are_honoured(seconds in 0u64..100_000, padding in "[ \t]{0,2}") {
            let headers = with_retry_after(format!("{padding}{seconds}{padding}").as_bytes()).unwrap();
            prop_assert_eq!(retry_after(&headers), Duration::from_secs(seconds.min(3600)));
        }
    }
}
