//! A function called before the exporter is installed records every call made after it: its
//! call site caches nothing until a recorder exists. (One test: the order is the point.)

use vk_monitor::{Exporter, monitored};
use vk_monitor_tests::value;

#[monitored]
fn called_early() -> u8 {
    1
}

#[test]
fn calls_before_install_are_not_lost_forever() {
    called_early();
    called_early();
    let exporter = Exporter::install().expect("a fresh process");
    called_early();
    called_early();
    called_early();
    let text = exporter.render();
    let labels = [("function", "called_early"), ("result", "ok")];
    assert_eq!(
        value(&text, "function_calls_total", &labels),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "function_call_duration_seconds_count", &labels),
        Some(3.0)
    );
    assert_eq!(
        value(
            &text,
            "function_calls_in_flight",
            &[("function", "called_early")]
        ),
        Some(0.0)
    );
}
