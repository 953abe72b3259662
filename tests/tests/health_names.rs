//! Names of `#[health_check]` functions across one binary: names that differ only in case or
//! punctuation are distinct checks, and two functions with one name stop start-up naming both.

use vk_monitor::InitError;
use vk_monitor::health::{CheckSpec, HealthRegistry};
use vk_monitor::health_check;

#[health_check(name = "db-check")]
fn db_check_dashed() -> bool {
    true
}

#[health_check(name = "db_check")]
fn db_check_underscored() -> bool {
    true
}

#[health_check(name = "DB")]
fn db_upper() -> bool {
    true
}

#[health_check(name = "db")]
fn db_lower() -> bool {
    true
}

#[health_check]
fn database() -> bool {
    true
}

mod replica {
    #[vk_monitor::health_check(name = "database", kind = liveness)]
    fn primary_database() -> bool {
        true
    }
}

fn names(registry: &HealthRegistry) -> Vec<String> {
    let mut names: Vec<String> = registry
        .checks()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names
}

#[test]
fn names_that_differ_in_case_or_punctuation_are_distinct_checks() {
    let registry = HealthRegistry::new();
    let conflict = registry.register_annotated().unwrap_err();
    assert_eq!(conflict.name(), "database");
    // The four similar names are all there, and "database" once: the other functions are
    // registered around the conflict.
    assert_eq!(
        names(&registry),
        ["DB", "database", "db", "db-check", "db_check"]
    );
    assert_eq!(names(HealthRegistry::global()), names(&registry));
}

#[test]
fn two_functions_with_one_name_stop_start_up_naming_both() {
    let conflict = HealthRegistry::annotated_conflict().expect("a conflict is found");
    let message = conflict.to_string();
    assert!(
        message.contains(r#"two health checks are named "database""#),
        "{message}"
    );
    // Linker order decides which is first; both are named.
    assert!(message.contains("health_names::database"), "{message}");
    assert!(
        message.contains("health_names::replica::primary_database"),
        "{message}"
    );

    let error = vk_monitor::Monitor::builder("health-names", "0.0.0")
        .config(|config| config.enable_metrics(false))
        .install()
        .unwrap_err();
    assert!(
        matches!(&error, InitError::DuplicateHealthCheck(found) if found == conflict),
        "{error}"
    );
}

#[test]
fn a_check_registered_under_a_taken_name_is_refused_and_the_first_kept() {
    let registry = HealthRegistry::new();
    registry
        .register(CheckSpec::readiness("queue"), || async { true })
        .unwrap();
    let refused = registry
        .register(CheckSpec::liveness("queue"), || async { false })
        .unwrap_err();
    assert_eq!(refused.name(), "queue");
    assert_eq!(
        refused.to_string(),
        r#"two health checks are named "queue": give each check its own name (`#[health_check(name = "...")]`)"#
    );
    assert_eq!(registry.checks().len(), 1);
    assert_eq!(
        registry.checks()[0].1,
        vk_monitor::health::CheckKind::Readiness
    );

    // An annotated function whose name a registered check has already taken: the registered
    // one stays (a liveness check, where the function's is a readiness one).
    let registry = HealthRegistry::new();
    registry
        .register(CheckSpec::liveness("db"), || async { true })
        .unwrap();
    assert!(registry.register_annotated().is_err());
    let db: Vec<_> = registry
        .checks()
        .into_iter()
        .filter(|(name, _)| name == "db")
        .collect();
    assert_eq!(
        db,
        [("db".to_owned(), vk_monitor::health::CheckKind::Liveness)]
    );
}
