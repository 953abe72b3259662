//! With the `enabled` feature `#[monitored]` records; without it the function is emitted
//! unchanged and records nothing. `.ci/run` runs this file both ways:
//! `cargo test -p vk-monitor --test feature_enabled` and the same with `--no-default-features`.
//! Either way a private objective only the attribute names is not dead code.
#![deny(dead_code)]

use vk_monitor::{Exporter, Objective, monitored};

const WORK: Objective = Objective::new("work").success_rate(99.0);

#[monitored(objective = WORK)]
fn work(n: u8) -> Result<u8, String> {
    if n > 0 { Ok(n) } else { Err("zero".into()) }
}

#[test]
fn instrumentation_follows_the_enabled_feature() {
    let exporter = Exporter::install().expect("a fresh process");
    assert_eq!(work(1), Ok(1));
    assert!(work(0).is_err());
    let text = exporter.render();
    let recorded = text.contains(
        r#"function_calls_total{function="work",module="feature_enabled",objective_name="work",objective_percentile="99",result="ok"} 1"#,
    );
    assert_eq!(
        recorded,
        cfg!(feature = "enabled"),
        "feature enabled: {}; exposition:\n{text}",
        cfg!(feature = "enabled")
    );
    assert!(
        text.contains("# TYPE build_info gauge"),
        "the exporter works either way"
    );
}
