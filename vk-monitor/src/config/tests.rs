use std::collections::HashMap;

use super::sentry_names::{is_environment, is_release};
use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    config_with(Config::builder(), vars)
}

fn config_with(builder: ConfigBuilder, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    builder.from_lookup(move |name| vars.get(name).cloned())
}

#[test]
fn defaults_when_nothing_is_set() {
    let config = config(&[]).unwrap();
    assert_eq!(config.sentry_dsn, None);
    assert_eq!(config.traces_sample_rate, 0.1);
    assert_eq!(config.profiles_sample_rate, 0.1);
    assert_eq!(config.release, None);
    assert!(config.enable_metrics && config.apm_enabled);
    assert_eq!(config.metrics_max_series, 1_000);
    assert_eq!(config.environment, "development");
    assert!(!config.send_default_pii && !config.debug && !config.health_show_details);
    assert!(
        config.warnings.is_empty(),
        "defaults warn about nothing: {:?}",
        config.warnings
    );
}

#[test]
fn every_variable_is_read() {
    let config = config(&[
        ("SENTRY_DSN", "https://public@o1.ingest.example.com/42"),
        ("SENTRY_TRACES_SAMPLE_RATE", "0.5"),
        ("SENTRY_PROFILES_SAMPLE_RATE", "0"),
        ("RELEASE_VERSION", "voice-calls@2.0.1"),
        ("ENABLE_METRICS", "No"),
        ("METRICS_MAX_SERIES", " 5000 "),
        ("APM_ENABLED", "0"),
        ("APM_ENVIRONMENT", "production"),
        ("ENVIRONMENT", "production"), // the same: no warning
        ("SENTRY_SEND_DEFAULT_PII", "YES"),
        ("SENTRY_DEBUG", "true"),
        ("HEALTH_SHOW_DETAILS", "1"),
        ("METRICS_ADDR", "127.0.0.1:9464"),
        ("MONITOR_TOKEN", "scrape-token-0123456789"),
    ])
    .unwrap();
    assert_eq!(config.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(
        config
            .monitor_token
            .as_ref()
            .is_some_and(|t| t.matches("scrape-token-0123456789"))
    );
    let dsn = config.sentry_dsn.as_ref().unwrap();
    assert_eq!(
        (dsn.public_key(), dsn.project_id().value()),
        ("public", "42")
    );
    assert_eq!(
        (config.traces_sample_rate, config.profiles_sample_rate),
        (0.5, 0.0)
    );
    assert_eq!(config.release.as_deref(), Some("voice-calls@2.0.1"));
    assert!(!config.enable_metrics && !config.apm_enabled);
    assert_eq!(config.metrics_max_series, 5_000);
    assert_eq!(config.environment, "production");
    assert!(config.send_default_pii && config.debug && config.health_show_details);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn a_bad_token_or_admin_address_is_named_and_the_token_never_shown() {
    let error = config(&[("METRICS_ADDR", "localhost"), ("MONITOR_TOKEN", "hunter2")]).unwrap_err();
    let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
    assert_eq!(names, ["METRICS_ADDR", "MONITOR_TOKEN"]);
    let message = error.to_string();
    assert!(message.contains("METRICS_ADDR=\"localhost\""), "{message}");
    assert!(message.contains("<hidden, 7 characters>"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    let set_in_code = Config::builder().monitor_token("hunter2");
    assert!(!format!("{set_in_code:?}").contains("hunter2"));
    let config = config(&[("MONITOR_TOKEN", "scrape-token-0123456789")]).unwrap();
    assert!(!format!("{config:?}").contains("scrape-token"));
}

#[test]
fn releases_and_environments_sentry_would_refuse_are_named() {
    let error = config(&[
        ("RELEASE_VERSION", "voice-calls/2.0"),
        ("ENVIRONMENT", "prod eu"),
    ])
    .unwrap_err();
    let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
    assert_eq!(names, ["RELEASE_VERSION", "ENVIRONMENT"]);
    assert!(
        error
            .to_string()
            .contains("RELEASE_VERSION=\"voice-calls/2.0\"")
    );
    for release in [".", "..", "a\nb", &"x".repeat(201)] {
        assert!(!is_release(release), "{release:?}");
    }
    assert!(is_release("voice-calls@2.0.1+build.7"));
    for environment in ["None", "a\tb", "eu/west", &"x".repeat(65)] {
        assert!(!is_environment(environment), "{environment:?}");
    }
    assert!(is_environment("production-eu-west-1"));
}

#[test]
fn a_series_limit_must_be_a_whole_number_of_one_or_more() {
    for bad in ["0", "-1", "1e3", "1.5", "many", "99999999999999999999999"] {
        let error = config(&[("METRICS_MAX_SERIES", bad)]).unwrap_err();
        assert_eq!(error.invalid.len(), 1, "{bad:?}: {error}");
        assert_eq!(
            (error.invalid[0].name, error.invalid[0].value.as_str()),
            ("METRICS_MAX_SERIES", bad)
        );
        let message = error.to_string();
        let expected = format!("METRICS_MAX_SERIES={bad:?} (expected a whole number of 1 or more)");
        assert!(message.contains(&expected), "{message}");
    }
    let error = config_with(Config::builder().metrics_max_series(0usize), &[]).unwrap_err();
    assert_eq!(error.invalid[0].name, "METRICS_MAX_SERIES");
    let in_code = Config::builder().metrics_max_series(20usize);
    let config = config_with(in_code, &[("METRICS_MAX_SERIES", "0")]).unwrap();
    assert_eq!(
        config.metrics_max_series, 20,
        "code wins, and is what is checked"
    );
}

#[test]
fn environment_falls_back_to_environment() {
    assert_eq!(
        config(&[("ENVIRONMENT", "staging")]).unwrap().environment,
        "staging"
    );
}

#[test]
fn the_sentry_sdks_variables_are_read_after_ours() {
    let alone = config(&[
        ("SENTRY_ENVIRONMENT", "staging"),
        ("ENVIRONMENT", "generic"),
        ("SENTRY_RELEASE", "voice-calls@3.1.0"),
    ])
    .unwrap();
    assert_eq!(alone.environment, "staging");
    assert_eq!(alone.release.as_deref(), Some("voice-calls@3.1.0"));
    assert_eq!(
        alone.warnings,
        [
            r#"SENTRY_ENVIRONMENT="staging" and ENVIRONMENT="generic" differ: SENTRY_ENVIRONMENT is used, ENVIRONMENT is ignored"#
        ]
    );

    let both = config(&[
        ("APM_ENVIRONMENT", "production"),
        ("SENTRY_ENVIRONMENT", "prod"),
        ("RELEASE_VERSION", "voice-calls@2.0.1"),
        ("SENTRY_RELEASE", "voice-calls@2.0.0"),
    ])
    .unwrap();
    assert_eq!(both.environment, "production");
    assert_eq!(both.release.as_deref(), Some("voice-calls@2.0.1"));
    assert_eq!(
        both.warnings,
        [
            r#"RELEASE_VERSION="voice-calls@2.0.1" and SENTRY_RELEASE="voice-calls@2.0.0" differ: RELEASE_VERSION is used, SENTRY_RELEASE is ignored"#,
            r#"APM_ENVIRONMENT="production" and SENTRY_ENVIRONMENT="prod" differ: APM_ENVIRONMENT is used, SENTRY_ENVIRONMENT is ignored"#,
        ]
    );

    let same = config(&[
        ("APM_ENVIRONMENT", "production"),
        ("SENTRY_ENVIRONMENT", "production"),
    ])
    .unwrap();
    assert!(same.warnings.is_empty(), "{:?}", same.warnings);

    // The value used is the one validated, under its own name.
    let error =
        config(&[("SENTRY_RELEASE", "a/b"), ("SENTRY_ENVIRONMENT", "prod eu")]).unwrap_err();
    let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
    assert_eq!(names, ["SENTRY_RELEASE", "SENTRY_ENVIRONMENT"]);
}

#[test]
fn every_invalid_variable_is_reported_together() {
    let error = config(&[
        ("SENTRY_DSN", "not a dsn"),
        ("SENTRY_TRACES_SAMPLE_RATE", "abc"),
        ("SENTRY_PROFILES_SAMPLE_RATE", "1.5"),
        ("ENABLE_METRICS", "maybe"),
        ("APM_ENABLED", ""),
        ("SENTRY_DEBUG", "on"),
    ])
    .unwrap_err();
    let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        [
            "SENTRY_DSN",
            "SENTRY_TRACES_SAMPLE_RATE",
            "SENTRY_PROFILES_SAMPLE_RATE",
            "ENABLE_METRICS",
            "APM_ENABLED",
            "SENTRY_DEBUG"
        ]
    );
    let message = error.to_string();
    assert!(
        message.contains(r#"SENTRY_TRACES_SAMPLE_RATE="abc" (expected a number from 0 to 1)"#),
        "{message}"
    );
    assert!(
        message.contains(r#"SENTRY_DSN="not a dsn" (expected a Sentry DSN"#),
        "{message}"
    );
    assert!(
        message.contains(r#"ENABLE_METRICS="maybe" (expected true, false, 1, 0, yes or no)"#),
        "{message}"
    );
    for bad_rate in ["-0.1", "NaN", "inf", "1.0001"] {
        let error = config(&[("SENTRY_TRACES_SAMPLE_RATE", bad_rate)]).unwrap_err();
        assert_eq!(error.invalid[0].value, bad_rate);
    }
}

#[test]
fn rates_just_outside_the_range_are_rejected() {
    // Both round into the range as f32.
    for bad_rate in ["1.00000001", "-1e-50"] {
        let error = config(&[("SENTRY_TRACES_SAMPLE_RATE", bad_rate)]).unwrap_err();
        assert_eq!(error.invalid[0].value, bad_rate);
    }
    let error = config_with(Config::builder().traces_sample_rate(1.000_000_001), &[]);
    assert!(error.is_err(), "{error:?}");
    let config = config(&[("SENTRY_TRACES_SAMPLE_RATE", "0.99999999")]).unwrap();
    assert_eq!(config.traces_sample_rate, 1.0, "inside the range, rounded");
}

#[test]
fn code_wins_over_the_environment_and_is_validated_too() {
    let builder = Config::builder()
        .environment("staging")
        .traces_sample_rate(1.0)
        .enable_metrics(true);
    let config = config_with(
        builder,
        &[
            ("APM_ENVIRONMENT", "production"),
            ("SENTRY_TRACES_SAMPLE_RATE", "0.2"),
            ("ENABLE_METRICS", "false"),
        ],
    )
    .unwrap();
    assert_eq!(
        (config.environment.as_str(), config.traces_sample_rate),
        ("staging", 1.0)
    );
    assert!(config.enable_metrics);
    let error = config_with(
        Config::builder().traces_sample_rate(1.5).sentry_dsn("nope"),
        &[],
    )
    .unwrap_err();
    assert_eq!(error.invalid.len(), 2, "{error}");
}

#[test]
fn accepted_but_useless_settings_warn_once() {
    let config = config(&[
        ("SENTRY_PROFILES_SAMPLE_RATE", "0.5"),
        ("PROMETHEUS_MULTIPROC_DIR", "/tmp/prom"),
    ])
    .unwrap();
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(config.warnings[0].contains("no profiler"));
    assert!(config.warnings[1].contains("PROMETHEUS_MULTIPROC_DIR is not needed"));
}

#[test]
fn an_empty_dsn_means_sentry_off() {
    assert_eq!(config(&[("SENTRY_DSN", "  ")]).unwrap().sentry_dsn, None);
}

#[test]
fn an_invalid_dsn_is_reported_as_found() {
    let error = config(&[("SENTRY_DSN", " not a dsn\r")]).unwrap_err();
    assert_eq!(error.invalid[0].value, " not a dsn\r");
    let padded = config(&[("SENTRY_DSN", " https://k@host/1\r")]).unwrap();
    assert!(padded.sentry_dsn.is_some());
}

#[test]
fn set_but_empty_settings_are_named_not_taken_as_unset() {
    // A secret that failed to mount arrives as `MONITOR_TOKEN=`: the routes it guards must not
    // open. Every empty setting is reported in the same error.
    let error = config(&[
        ("MONITOR_TOKEN", ""),
        ("METRICS_ADDR", ""),
        ("RELEASE_VERSION", " "),
        ("APM_ENVIRONMENT", ""),
        ("SENTRY_TRACES_SAMPLE_RATE", ""),
        ("ENABLE_METRICS", ""),
    ])
    .unwrap_err();
    let names: Vec<&str> = error.invalid.iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        [
            "SENTRY_TRACES_SAMPLE_RATE",
            "RELEASE_VERSION",
            "ENABLE_METRICS",
            "APM_ENVIRONMENT",
            "METRICS_ADDR",
            "MONITOR_TOKEN"
        ]
    );
    let message = error.to_string();
    assert!(
        message.contains("MONITOR_TOKEN=\"\" (expected a value: the variable is set but empty"),
        "{message}"
    );
    // Empty keeps its one documented meaning: an empty DSN turns Sentry off.
    assert!(config(&[("SENTRY_DSN", "")]).unwrap().sentry_dsn.is_none());
}

#[test]
fn a_value_that_is_not_utf8_is_named_once_and_never_shown() {
    use super::env::{EnvReader, Found};
    let lookup = |name: &str| match name {
        "MONITOR_TOKEN" => Found::NotUnicode(20),
        // Read twice (whether it was set, then its value): still one error.
        "SENTRY_PROFILES_SAMPLE_RATE" => Found::NotUnicode(3),
        "ENABLE_METRICS" => Found::Text("maybe".to_owned()),
        _ => Found::Unset,
    };
    let error = Config::builder().read(EnvReader::new(lookup)).unwrap_err();
    let found: Vec<(&str, &str)> = error
        .invalid
        .iter()
        .map(|v| (v.name, v.value.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("SENTRY_PROFILES_SAMPLE_RATE", "<not UTF-8, 3 bytes>"),
            ("ENABLE_METRICS", "maybe"),
            ("MONITOR_TOKEN", "<not UTF-8, 20 bytes>"),
        ]
    );
    assert_eq!(error.invalid[0].expected, "UTF-8 text");
}

#[test]
fn the_process_environment_tells_not_utf8_from_unset() {
    use super::env::{Found, process_var};
    assert!(matches!(
        process_var("VK_MONITOR_SURELY_UNSET_VARIABLE"),
        Found::Unset
    ));
    // PATH is set in any test environment, and UTF-8 in any this suite runs in.
    assert!(matches!(process_var("PATH"), Found::Text(_)));
}

#[test]
fn a_malformed_dotenv_line_is_located_without_its_value() {
    let dir = std::env::temp_dir().join(format!("vk-monitor-dotenv-{}", std::process::id()));
    let nested = dir.join("service");
    std::fs::create_dir_all(&nested).unwrap();
    let secret = "s3cret-token-value-0123456789";
    std::fs::write(
        dir.join(".env"),
        format!("# settings\nSENTRY_DEBUG=false\n\nMONITOR_TOKEN=\"{secret}\nAPM_ENABLED=true\n"),
    )
    .unwrap();

    // Found from a directory below it, as from the process's working directory.
    let (pairs, error) = super::env::read_dotenv(&nested);
    let error = error.expect("an unterminated quote is a malformed line");
    assert!(
        !error.contains(secret) && !error.contains("s3cret"),
        "{error}"
    );
    let file = dir.join(".env");
    assert_eq!(
        error,
        format!("{} line 4 (MONITOR_TOKEN), value not shown", file.display())
    );
    assert_eq!(pairs.get("SENTRY_DEBUG").map(String::as_str), Some("false"));

    // A token pasted on a line of its own, and a value the parser refuses: neither is quoted.
    for (text, located) in [
        (
            "A=1\nghp_16C7e42F292c6912E7710c838347Ae178B4a\n",
            " line 2, not a KEY=value line (not shown)",
        ),
        (
            "A=1\n\nSECRET=abcDEF123=xyz qq\n",
            " line 3 (SECRET), value not shown",
        ),
    ] {
        std::fs::write(dir.join(".env"), text).unwrap();
        let error = super::env::read_dotenv(&nested)
            .1
            .expect("a malformed line");
        assert_eq!(error, format!("{}{located}", file.display()));
    }

    std::fs::write(dir.join(".env"), "SENTRY_DEBUG=true\n").unwrap();
    let (pairs, error) = super::env::read_dotenv(&nested);
    assert_eq!(
        (pairs.get("SENTRY_DEBUG").map(String::as_str), error),
        (Some("true"), None)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn propagation_targets_are_read_set_in_code_and_named_when_invalid() {
    let all = config(&[]).unwrap().trace_propagation_targets;
    assert!(all.matches("any.host.example"), "every host by default");
    let set = config(&[(
        "SENTRY_TRACE_PROPAGATION_TARGETS",
        "speech.internal,*.svc.cluster.local",
    )])
    .unwrap()
    .trace_propagation_targets;
    assert!(set.matches("speech.internal") && set.matches("a.svc.cluster.local"));
    assert!(!set.matches("api.payments.example"));

    let error = config(&[(
        "SENTRY_TRACE_PROPAGATION_TARGETS",
        "speech.internal,https://api.example",
    )])
    .unwrap_err();
    assert_eq!(error.invalid.len(), 1);
    let invalid = &error.invalid[0];
    assert_eq!(
        (invalid.name, invalid.value.as_str()),
        (
            "SENTRY_TRACE_PROPAGATION_TARGETS",
            "speech.internal,https://api.example"
        )
    );
    assert!(invalid.expected.contains("*.example.com"), "{error}");
    let empty = config(&[("SENTRY_TRACE_PROPAGATION_TARGETS", "")]).unwrap_err();
    assert_eq!(empty.invalid[0].name, "SENTRY_TRACE_PROPAGATION_TARGETS");

    let in_code = Config::builder().trace_propagation_targets(["speech.internal"]);
    let config_in_code = config_with(
        in_code,
        &[("SENTRY_TRACE_PROPAGATION_TARGETS", "bad/value")],
    )
    .unwrap();
    assert!(
        config_in_code
            .trace_propagation_targets
            .matches("speech.internal")
    );
    assert!(!config_in_code.trace_propagation_targets.matches("other"));
    let bad_in_code = Config::builder().trace_propagation_targets(["a:80"]);
    let error = config_with(bad_in_code, &[]).unwrap_err();
    assert_eq!(
        (error.invalid[0].name, error.invalid[0].value.as_str()),
        ("SENTRY_TRACE_PROPAGATION_TARGETS", "a:80")
    );
    let none = Config::builder().trace_propagation_targets(Vec::<String>::new());
    assert!(config_with(none, &[]).is_err(), "an empty list is refused");
}

#[test]
fn a_traces_sampler_is_kept_and_its_rates_bounded() {
    let config = config_with(
        Config::builder().traces_sampler(|context| match (context.route, context.op) {
            (Some("/checkout"), _) => 1.0,
            (Some("/static"), _) => -3.0,
            (Some("/nan"), _) => f32::NAN,
            (Some("/panics"), _) => panic!("a broken sampler"),
            (None, "task") => 7.0,
            _ => 0.25,
        }),
        &[],
    )
    .unwrap();
    let sampler = config.traces_sampler.clone().expect("kept");
    let rate = |route: Option<&str>, op: &str| {
        sampler.rate(&SamplingContext {
            name: "GET /x",
            op,
            route,
            parent_sampled: None,
        })
    };
    assert_eq!(rate(Some("/checkout"), "http.server"), 1.0);
    assert_eq!(rate(Some("/static"), "http.server"), 0.0);
    assert_eq!(rate(Some("/nan"), "http.server"), 0.0);
    assert_eq!(
        rate(Some("/panics"), "http.server"),
        0.0,
        "a panic is rate 0"
    );
    assert_eq!(rate(None, "task"), 1.0);
    assert_eq!(rate(Some("/other"), "http.server"), 0.25);
    assert_eq!(config.clone(), config, "the same sampler");
    assert_eq!(format!("{sampler:?}"), "TracesSampler(..)");
    assert_eq!(
        config_with(Config::builder(), &[]).unwrap().traces_sampler,
        None
    );
}
