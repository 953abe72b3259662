//! Whether a trace that starts or continues here is sampled, and the dynamic sampling context
//! (DSC) it then carries.
//!
//! The decision: nothing with tracing off (rate 0); else `sample_rand < rate` with the rate
//! from the configured sampler, which is told the caller's decision; without a sampler, an
//! incoming decision when it is followed (`SENTRY_FOLLOW_INCOMING_SAMPLING`), else
//! `sample_rand < SENTRY_TRACES_SAMPLE_RATE`. `sample_rand` is the trace's own: the
//! incoming DSC's when valid, one consistent with the caller's decision and rate when those
//! are known, else drawn here, in millionths, so the value sent is exactly the one compared.
//!
//! The DSC: an incoming one of the same trace is kept frozen; otherwise this service is the
//! head of the DSC and makes it from the decision (either way: a trace sampled out passes
//! `sentry-sampled=false` on) and the client's settings.

use sentry::protocol::TraceId;

use super::baggage::{Dsc, IncomingBaggage, TraceBaggage};
use super::state;
use crate::config::SamplingContext;

/// A `transaction` longer than this is left out of a DSC made here, which must stay far
/// below the 8,192 bytes of `baggage`.
const MAX_DSC_TRANSACTION: usize = 1024;

/// What a transaction to start is: for the sampler and the DSC.
pub(crate) struct Candidate<'a> {
    pub(crate) name: &'a str,
    pub(crate) op: &'a str,
    pub(crate) route: Option<&'a str>,
}

/// What a caller sent: its decision and its DSC, if any.
#[derive(Default)]
pub(crate) struct Parent<'a> {
    pub(crate) sampled: Option<bool>,
    pub(crate) dsc: Option<&'a Dsc>,
}

/// A sampling decision: whether the trace is sampled, the rate it was taken with and the
/// trace's `sample_rand`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Decision {
    pub(crate) sampled: bool,
    pub(crate) rate: f32,
    pub(crate) rand: f64,
}

/// Whether `candidate` is sampled; `None`: tracing is off, so nothing is decided or passed on.
pub(crate) fn decide(candidate: &Candidate<'_>, parent: &Parent<'_>) -> Option<Decision> {
    let base = state::traces_rate();
    if base <= 0.0 {
        return None; // tracing is off: no caller's decision and no sampler turns it on
    }
    let parent_rate = parent.dsc.and_then(|dsc| rate_of(dsc.get("sample_rate")?));
    let incoming_rand = parent.dsc.and_then(|dsc| rand_of(dsc.get("sample_rand")?));
    let rand = || incoming_rand.unwrap_or_else(|| derived_rand(parent.sampled, parent_rate));
    let has_sampler = state::has_sampler();
    // A configured sampler decides, told the caller's decision (as in Sentry's SDKs); without
    // one the caller's decision is followed unless following is off.
    if !has_sampler
        && let Some(sampled) = parent.sampled.filter(|_| state::follow_incoming_sampling())
    {
        return Some(Decision {
            sampled,
            rate: if sampled { 1.0 } else { base },
            rand: rand(),
        });
    }
    let sampled_rate = has_sampler
        .then(|| {
            let tracing = state::tracing();
            let sampler = tracing.as_ref()?.sampler.as_ref()?;
            Some(sampler.rate(&SamplingContext {
                name: candidate.name,
                op: candidate.op,
                route: candidate.route,
                parent_sampled: parent.sampled,
            }))
        })
        .flatten();
    let (rate, decimal) = match sampled_rate {
        Some(rate) => (rate, state::decimal(rate)),
        None => (base, state::traces_rate_decimal()),
    };
    let rand = rand();
    Some(Decision {
        sampled: decimal > rand,
        rate,
        rand,
    })
}

/// A sample rate as Sentry sends it: a number from 0 to 1.
fn rate_of(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|rate| (0.0..=1.0).contains(rate))
}

/// A `sample_rand` as Sentry sends it: a number from 0 up to, not including, 1.
fn rand_of(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|rand| (0.0..1.0).contains(rand))
}

/// A new `sample_rand`, consistent with the caller's decision when its rate is known: below
/// the rate when it sampled the trace in, at or above it when it did not.
pub(crate) fn derived_rand(sampled: Option<bool>, rate: Option<f64>) -> f64 {
    let unit = f64::from(fastrand::u32(0..1_000_000)) / 1e6;
    let value = match (sampled, rate) {
        (Some(true), Some(rate)) if rate > 0.0 => unit * rate,
        (Some(false), Some(rate)) if rate < 1.0 => rate + unit * (1.0 - rate),
        // No value agrees with a decision its rate could not have taken.
        _ => return unit,
    };
    // In millionths, as sent; rounding down keeps a value below the rate below it.
    (value * 1e6).floor() / 1e6
}

/// The baggage of a trace: the incoming DSC when it is this trace's (frozen), else one made
/// here from `decision`; and the other members the request brought, passed on.
pub(crate) fn trace_baggage(
    trace_id: TraceId,
    decision: Decision,
    transaction: &str,
    incoming: Option<IncomingBaggage>,
) -> TraceBaggage {
    let frozen = incoming.as_ref().is_some_and(|incoming| {
        incoming
            .dsc
            .get("trace_id")
            .is_some_and(|id| id == trace_id.to_string())
    });
    let dsc = match &incoming {
        Some(incoming) if frozen => incoming.dsc.clone(),
        _ => head_dsc(trace_id, decision, transaction),
    };
    TraceBaggage::new(dsc, incoming)
}

/// The DSC of a trace whose head (for the DSC) is this service.
fn head_dsc(trace_id: TraceId, decision: Decision, transaction: &str) -> Dsc {
    let tracing = state::tracing();
    let mut entries = vec![("trace_id", trace_id.to_string())];
    if let Some(tracing) = tracing.as_ref() {
        entries.push(("public_key", tracing.public_key.clone()));
    }
    entries.push(("sample_rate", decision.rate.to_string()));
    entries.push(("sample_rand", format!("{:.6}", decision.rand)));
    entries.push(("sampled", decision.sampled.to_string()));
    if let Some(tracing) = tracing.as_ref() {
        entries.push(("release", tracing.release.clone()));
        entries.push(("environment", tracing.environment.clone()));
    }
    if transaction.len() <= MAX_DSC_TRANSACTION {
        entries.push(("transaction", transaction.to_owned()));
    }
    Dsc::new(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_sample_rand_agrees_with_the_callers_decision() {
        for _ in 0..10_000 {
            let rand = derived_rand(Some(true), Some(0.25));
            assert!((0.0..0.25).contains(&rand), "{rand}");
            let rand = derived_rand(Some(false), Some(0.25));
            assert!((0.25..1.0).contains(&rand), "{rand}");
            let rand = derived_rand(None, None);
            assert!((0.0..1.0).contains(&rand));
            assert_eq!(format!("{rand:.6}").parse::<f64>().unwrap(), rand, "exact");
        }
        for (sampled, rate) in [(false, 1.0), (true, 0.0)] {
            let rand = derived_rand(Some(sampled), Some(rate));
            assert!((0.0..1.0).contains(&rand), "{sampled} at {rate}: {rand}");
        }
        assert_eq!(rate_of("1"), Some(1.0));
        assert_eq!(rand_of("1"), None);
        assert_eq!(rand_of("-0.1"), None);
        assert_eq!(rand_of("NaN"), None);
    }
}
