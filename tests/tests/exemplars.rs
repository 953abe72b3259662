//! Exemplar storage under load: 10,000 traced calls of one function from 8 threads at once,
//! while the exposition is rendered over and over. No call is lost from the counts, and every
//! exemplar rendered, during the calls and after, names the trace and span of one call: never
//! the trace of one and the span of another.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vk_monitor::{Exporter, Monitor, monitored};
use vk_monitor_tests::value;

const THREADS: usize = 8;
const CALLS_PER_THREAD: usize = 1_250;

/// The (trace id, span id) of every call, as the call saw them.
static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[monitored]
fn traced_work(n: usize) -> usize {
    let span = vk_monitor::trace::current_span().expect("every call is traced");
    let context = span.get_trace_context();
    SEEN.lock()
        .unwrap()
        .push((context.trace_id.to_string(), context.span_id.to_string()));
    // A few calls take longer, so that exemplars land in several buckets.
    if n.is_multiple_of(500) {
        std::thread::sleep(Duration::from_millis(3));
    }
    n
}

/// Every (trace id, span id) of a `traced_work` exemplar in an OpenMetrics render.
fn exemplars(exporter: &Exporter) -> Vec<(String, String)> {
    exporter
        .render_openmetrics()
        .lines()
        .filter(|line| line.contains("function=\"traced_work\""))
        .filter_map(|line| line.split_once(" # {trace_id=\"").map(|(_, rest)| rest))
        .map(|rest| {
            let (trace, rest) = rest.split_once("\",span_id=\"").expect("a span id");
            let (span, _) = rest.split_once('"').expect("a closing quote");
            (trace.to_owned(), span.to_owned())
        })
        .collect()
}

#[test]
fn concurrent_traced_calls_lose_no_count_and_tear_no_exemplar() {
    let monitor = Monitor::builder("exemplars-test", "0.0.0")
        .config(|config| {
            config
                .enable_metrics(true)
                // Nothing listens there: transactions are dropped, the calls are traced all
                // the same.
                .sentry_dsn("http://public@127.0.0.1:9/1")
                .traces_sample_rate(1.0)
                .apm_enabled(true)
                .send_default_pii(false)
                .debug(false)
        })
        .install()
        .expect("install the monitor");
    let exporter = monitor.exporter().expect("metrics are on").clone();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (exporter, done) = (exporter.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut rendered = Vec::new();
            while !done.load(Ordering::Relaxed) {
                rendered.extend(exemplars(&exporter));
            }
            rendered
        })
    };
    let callers: Vec<_> = (0..THREADS)
        .map(|thread| {
            std::thread::spawn(move || {
                for i in 0..CALLS_PER_THREAD {
                    std::hint::black_box(traced_work(thread * CALLS_PER_THREAD + i));
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let mut rendered = reader.join().unwrap();

    let calls = (THREADS * CALLS_PER_THREAD) as f64;
    let text = exporter.render();
    let labels = [("function", "traced_work"), ("result", "ok")];
    assert_eq!(value(&text, "function_calls_total", &labels), Some(calls));
    assert_eq!(
        value(&text, "function_call_duration_seconds_count", &labels),
        Some(calls)
    );

    let seen: HashSet<(String, String)> = SEEN.lock().unwrap().iter().cloned().collect();
    assert_eq!(seen.len(), THREADS * CALLS_PER_THREAD, "one trace per call");
    let last = exemplars(&exporter);
    assert!(
        last.len() >= 2,
        "exemplars on the count and a bucket: {last:?}"
    );
    rendered.extend(last);
    let torn: Vec<&(String, String)> = rendered.iter().filter(|e| !seen.contains(e)).collect();
    assert!(
        torn.is_empty(),
        "{} of {} exemplars rendered are no call's (trace, span): {:?}",
        torn.len(),
        rendered.len(),
        &torn[..torn.len().min(5)]
    );
}
