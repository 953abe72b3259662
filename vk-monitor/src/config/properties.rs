use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use std::net::SocketAddr;

use proptest::prelude::*;
use sentry::types::Dsn;

use super::sentry_names::{is_environment, is_release};
use super::*;
use crate::admin::MonitorToken;

/// Every variable the configuration reads.
const VARIABLES: [&str; 19] = [
    "SENTRY_DSN",
    "SENTRY_TRACES_SAMPLE_RATE",
    "SENTRY_PROFILES_SAMPLE_RATE",
    "RELEASE_VERSION",
    "SENTRY_RELEASE",
    "ENABLE_METRICS",
    "METRICS_MAX_SERIES",
    "PROMETHEUS_MULTIPROC_DIR",
    "APM_ENABLED",
    "APM_ENVIRONMENT",
    "SENTRY_ENVIRONMENT",
    "ENVIRONMENT",
    "SENTRY_SEND_DEFAULT_PII",
    "SENTRY_DEBUG",
    "SENTRY_FOLLOW_INCOMING_SAMPLING",
    "SENTRY_TRACE_PROPAGATION_TARGETS",
    "HEALTH_SHOW_DETAILS",
    "METRICS_ADDR",
    "MONITOR_TOKEN",
];
const RATES: [&str; 2] = ["SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE"];
const BOOLEANS: [&str; 6] = [
    "ENABLE_METRICS",
    "APM_ENABLED",
    "SENTRY_SEND_DEFAULT_PII",
    "SENTRY_DEBUG",
    "HEALTH_SHOW_DETAILS",
    "SENTRY_FOLLOW_INCOMING_SAMPLING",
];

#[test]
fn the_variable_list_is_complete() {
    // A new variable missing here would escape the properties below.
    let asked = RefCell::new(BTreeSet::new());
    Config::builder()
        .from_lookup(|name| {
            asked.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
    let expected: BTreeSet<String> = VARIABLES.iter().map(|&v| v.to_owned()).collect();
    assert_eq!(asked.into_inner(), expected);
}

/// Values a person or a broken deployment could put in a variable.
fn hostile_value() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "",
        " ",
        "\t\n",
        "0",
        "1",
        "0.5",
        "1.0",
        "-0",
        "-0.0",
        "+0.5",
        ".5",
        "5.",
        "1e-1",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "infinity",
        "-1",
        "-0.1",
        "-1e-50",
        "1.00000001",
        "1.0000001",
        "1e308",
        "1e39",
        "1e-50",
        "0x1",
        "0x0.8p0",
        "0,5",
        "½",
        "true",
        "FALSE",
        " yes ",
        "No",
        "on",
        "off",
        "y",
        "tru\u{0}e",
        "\u{2003}1\u{2003}",
        "https://public@o1.ingest.example.com/42",
        " http://k@127.0.0.1:9/1 ",
        "https://@host/1",
        "https://k@/1",
        "ftp://k@host/1",
        "https://k@host/",
        "https://k@host/not-a-number",
        "http://k@host/1?x=\u{0}",
        "é",
        "\u{feff}",
        "*",
        "api.example.com, *.svc.cluster.local",
        "[::1],10.0.0.5",
        "https://api.example.com",
        "a,,b",
        "*.",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => fixed,
        3 => any::<String>(),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:e}")),
        1 => any::<i128>().prop_map(|i| i.to_string()),
        1 => (1usize..400).prop_map(|n| format!("0.{}", "9".repeat(n))),
        1 => (1usize..400).prop_map(|n| "9".repeat(n)),
        1 => (any::<char>(), 1usize..70_000).prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => "[ \t]{0,3}(true|false|yes|no|1|0|0\\.[0-9]{1,6})[ \t]{0,3}",
    ]
}

/// Whether `value` is invalid for `name`, decided from the documented rules.
fn rejected(name: &str, value: &str) -> bool {
    if name == "MONITOR_TOKEN" {
        // Taken as written: a space is a character of the token, and not a valid one. Empty is
        // refused too: a secret that failed to mount must not leave the routes open.
        return MonitorToken::new(value).is_none();
    }
    if name == "RELEASE_VERSION" || name == "SENTRY_RELEASE" {
        return value.trim().is_empty() || !is_release(value);
    }
    if name == "APM_ENVIRONMENT" || name == "SENTRY_ENVIRONMENT" || name == "ENVIRONMENT" {
        return value.trim().is_empty() || !is_environment(value);
    }
    let value = value.trim();
    if name == "SENTRY_TRACE_PROPAGATION_TARGETS" {
        PropagationTargets::parse(value).is_none()
    } else if name == "METRICS_ADDR" {
        value.parse::<SocketAddr>().is_err()
    } else if name == "SENTRY_DSN" {
        !value.is_empty() && value.parse::<Dsn>().is_err()
    } else if name == "METRICS_MAX_SERIES" {
        !value.parse::<usize>().is_ok_and(|limit| limit > 0)
    } else if RATES.contains(&name) {
        !value
            .parse::<f64>()
            .is_ok_and(|rate| (0.0..=1.0).contains(&rate))
    } else if BOOLEANS.contains(&name) {
        !["true", "false", "1", "0", "yes", "no"]
            .iter()
            .any(|word| value.eq_ignore_ascii_case(word))
    } else {
        false
    }
}

/// Whether `name` is ignored because a variable read before it for the same setting is set.
fn overridden(name: &str, vars: &HashMap<&'static str, String>) -> bool {
    let before: &[&str] = match name {
        "SENTRY_RELEASE" => &["RELEASE_VERSION"],
        "SENTRY_ENVIRONMENT" => &["APM_ENVIRONMENT"],
        "ENVIRONMENT" => &["APM_ENVIRONMENT", "SENTRY_ENVIRONMENT"],
        _ => &[],
    };
    before.iter().any(|earlier| vars.contains_key(earlier))
}

fn environment() -> impl Strategy<Value = HashMap<&'static str, String>> {
    VARIABLES
        .map(|name| proptest::option::weighted(0.8, hostile_value()).prop_map(move |v| (name, v)))
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?)))
                .collect()
        })
}

proptest! {
    #[test]
    fn any_values_are_read_without_panicking_and_every_invalid_one_is_named(
        vars in environment()
    ) {
        let result = Config::builder().from_lookup(|name| vars.get(name).cloned());
        let expected: Vec<&str> = VARIABLES
            .iter()
            .copied()
            // Of the variables naming one thing, only the first one set is read.
            .filter(|name| !overridden(name, &vars))
            .filter(|name| vars.get(name).is_some_and(|value| rejected(name, value)))
            .collect();
        match result {
            Ok(_) => prop_assert!(expected.is_empty(), "accepted invalid {expected:?}"),
            Err(error) => {
                let named: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
                prop_assert_eq!(&named, &expected);
                let message = error.to_string();
                for invalid in &error.invalid {
                    if invalid.name == "MONITOR_TOKEN" {
                        let token = &vars[invalid.name];
                        let hidden = if token.trim().is_empty() {
                            token.clone() // blank: nothing to hide, and clearer shown as it is
                        } else {
                            format!("<hidden, {} characters>", token.chars().count())
                        };
                        prop_assert_eq!(&invalid.value, &hidden, "a secret is never shown");
                        let shown_elsewhere = error
                            .invalid
                            .iter()
                            .any(|other| other.name != invalid.name && other.value.contains(token.as_str()));
                        // A blank token is shown as it is: it hides nothing.
                        prop_assert!(
                            token.len() < 12
                                || token.trim().is_empty()
                                || shown_elsewhere
                                || !message.contains(token.as_str())
                        );
                    } else {
                        prop_assert_eq!(&invalid.value, &vars[invalid.name], "the value as found");
                    }
                    let shown = format!("{}={:?}", invalid.name, invalid.value);
                    prop_assert!(message.contains(&shown), "{} not in the message", invalid.name);
                }
            }
        }
    }

    #[test]
    fn valid_values_are_accepted_as_written(
        traces in 0.0f64..=1.0,
        profiles in 0.0f64..=1.0,
        exponent in any::<bool>(),
        padding in "[ \t]{0,2}",
        booleans in prop::array::uniform6((any::<bool>(), 0usize..3, any::<bool>())),
        release in "\\PC{1,40}".prop_filter("a release", |r| is_release(r) && !r.trim().is_empty()),
        environment in "\\PC{1,40}".prop_filter("an environment", |e| is_environment(e) && !e.trim().is_empty()),
        key in "[a-f0-9]{1,32}",
        // "??--" labels are reserved for IDNA (xn--...) and rejected unless valid punycode.
        host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6})?"
            .prop_filter("not a reserved IDNA label", |h| h.get(2..4) != Some("--")),
        project in 1u64..=u64::from(u32::MAX),
        max_series in 1usize..=usize::MAX,
    ) {
        let rate = |rate: f64| if exponent { format!("{padding}{rate:e}") } else { format!("{rate}{padding}") };
        let mut vars = HashMap::from([
            ("SENTRY_DSN", format!("{padding}https://{key}@{host}/{project}")),
            ("SENTRY_TRACES_SAMPLE_RATE", rate(traces)),
            ("SENTRY_PROFILES_SAMPLE_RATE", rate(profiles)),
            ("RELEASE_VERSION", release.clone()),
            ("APM_ENVIRONMENT", environment.clone()),
            ("METRICS_MAX_SERIES", format!("{padding}{max_series}{padding}")),
        ]);
        for (name, (value, spelling, upper)) in BOOLEANS.into_iter().zip(booleans) {
            let word = [["false", "0", "no"], ["true", "1", "yes"]][usize::from(value)][spelling];
            let word = if upper { word.to_ascii_uppercase() } else { word.to_owned() };
            vars.insert(name, format!("{padding}{word}{padding}"));
        }
        let config = Config::builder()
            .from_lookup(|name| vars.get(name).cloned())
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(config.traces_sample_rate, traces as f32);
        prop_assert_eq!(config.profiles_sample_rate, profiles as f32);
        let dsn = config.sentry_dsn.as_ref().unwrap();
        prop_assert_eq!((dsn.public_key(), dsn.host()), (key.as_str(), host.as_str()));
        prop_assert_eq!(dsn.project_id().value(), project.to_string());
        let flags = [
            config.enable_metrics,
            config.apm_enabled,
            config.send_default_pii,
            config.debug,
            config.health_show_details,
            config.follow_incoming_sampling,
        ];
        prop_assert_eq!(flags, booleans.map(|(value, _, _)| value));
        prop_assert_eq!(config.release, Some(release.clone()));
        prop_assert_eq!(config.environment, environment);
        prop_assert_eq!(config.metrics_max_series, max_series);
    }

    #[test]
    fn rates_set_in_code_are_checked_like_variables(rate in prop_oneof![
        any::<f64>(),
        -1e-30f64..1e-30,
        1.0f64..1.000_001,
        Just(f64::NAN),
        Just(-0.0),
    ]) {
        let result = Config::builder()
            .traces_sample_rate(rate)
            .profiles_sample_rate(rate)
            .from_lookup(|_| None);
        if (0.0..=1.0).contains(&rate) {
            let config = result.map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(config.traces_sample_rate, rate as f32);
        } else {
            let error = result.expect_err("a rate outside 0..=1");
            let named: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
            prop_assert_eq!(named, RATES);
        }
    }
}
