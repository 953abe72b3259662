//! When not to send: the pauses Sentry asks for (429 with `Retry-After`, per-category
//! `X-Sentry-Rate-Limits`) and the back-off after failed sends, read by every producer for the
//! price of an atomic load.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sentry::Envelope;
use sentry::protocol::EnvelopeItem;

use super::dropped::Dropped;

/// How long to stop sending after a 429 without a usable `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest pause after failed sends; the pause doubles from 1 s per further failure.
const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(60);

/// A pause in sending, decided by the sending thread and read by every producer.
pub(super) struct Pause {
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

    pub(super) fn start(&self, length: Duration, reason: Dropped) {
        let until = self
            .nanos_since_origin()
            .saturating_add(u64::try_from(length.as_nanos()).unwrap_or(u64::MAX))
            .max(1);
        self.reason.store(reason.code(), Ordering::Relaxed);
        self.until.store(until, Ordering::Relaxed);
    }

    pub(super) fn clear(&self) {
        self.until.store(0, Ordering::Relaxed);
    }

    fn nanos_since_origin(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// What Sentry rate-limits separately: an envelope with a transaction is a transaction, any
/// other one an error (events are all we send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Error,
    Transaction,
}

impl Category {
    pub(super) fn of(envelope: &Envelope) -> Self {
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
pub(super) struct Pauses {
    pub(super) all: Pause,
    error: Pause,
    transaction: Pause,
}

impl Pauses {
    pub(super) fn new() -> Self {
        Pauses {
            all: Pause::new(),
            error: Pause::new(),
            transaction: Pause::new(),
        }
    }

    pub(super) fn active(&self, category: Category) -> Option<Dropped> {
        self.all.active().or_else(|| match category {
            Category::Error => self.error.active(),
            Category::Transaction => self.transaction.active(),
        })
    }

    /// Applies an `X-Sentry-Rate-Limits` header; `false` when it held no usable limit.
    pub(super) fn limit(&self, header: &str) -> bool {
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
pub(super) fn failure_backoff(failures: u32) -> Option<Duration> {
    let doublings = failures.checked_sub(2)?;
    Some(Duration::from_secs(1u64 << doublings.min(16)).min(MAX_FAILURE_BACKOFF))
}

/// The pause a `Retry-After` asks for, in seconds or as an HTTP date (RFC 9110), at most an
/// hour; [`DEFAULT_BACKOFF`] when it is missing or unusable.
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
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
