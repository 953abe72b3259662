//! Why an envelope was not delivered: the `reason` label of
//! `sentry_envelopes_dropped_total`, and the counting.

use crate::metrics::names::SENTRY_ENVELOPES_DROPPED_TOTAL;

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

    pub(super) fn counter(self) -> metrics::Counter {
        let reason = match self {
            Dropped::QueueFull => "queue_full",
            Dropped::RateLimited => "rate_limited",
            Dropped::NetworkError => "network_error",
            Dropped::Rejected => "rejected",
        };
        metrics::counter!(SENTRY_ENVELOPES_DROPPED_TOTAL, "reason" => reason)
    }

    pub(super) fn count(self) {
        self.counter().increment(1);
    }
}
