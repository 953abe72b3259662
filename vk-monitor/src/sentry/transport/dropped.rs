//! Why an envelope was not delivered: the `reason` label of
//! `sentry_envelopes_dropped_total`, and the counting.

use std::sync::OnceLock;

use crate::metrics::counter::{self, Counter};
use crate::metrics::names::{SENTRY_ENVELOPES_DROPPED_TOTAL, help};

/// Why an envelope was not delivered: the `reason` label.
#[derive(Clone, Copy, Debug)]
pub(super) enum Dropped {
    QueueFull,
    RateLimited,
    NetworkError,
    Rejected,
}

impl Dropped {
    /// Every reason.
    pub(super) const ALL: [Dropped; 4] = [
        Dropped::QueueFull,
        Dropped::RateLimited,
        Dropped::NetworkError,
        Dropped::Rejected,
    ];

    pub(super) fn code(self) -> u8 {
        self as u8
    }

    pub(super) fn from_code(code: u8) -> Self {
        match code {
            0 => Dropped::QueueFull,
            1 => Dropped::RateLimited,
            2 => Dropped::NetworkError,
            _ => Dropped::Rejected,
        }
    }

    /// The reason's series, made (at zero) on first use.
    pub(super) fn counter(self) -> &'static Counter {
        static COUNTERS: [OnceLock<&'static Counter>; 4] = [const { OnceLock::new() }; 4];
        COUNTERS[self.code() as usize].get_or_init(|| {
            let reason = match self {
                Dropped::QueueFull => "queue_full",
                Dropped::RateLimited => "rate_limited",
                Dropped::NetworkError => "network_error",
                Dropped::Rejected => "rejected",
            };
            let name = SENTRY_ENVELOPES_DROPPED_TOTAL;
            counter::register(name, help(name), &[("reason", reason)])
        })
    }

    pub(super) fn count(self) {
        self.counter().increment();
    }
}
