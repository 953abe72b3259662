//! The README's claims about the release, read against the manifests they describe: the
//! dependency line, the features table (every cargo feature of `vk-monitor`, default or not),
//! the compatibility table, and a CHANGELOG section for the version.

use std::collections::BTreeMap;

const WORKSPACE: &str = include_str!("../../Cargo.toml");
const CRATE: &str = include_str!("../../vk-monitor/Cargo.toml");
const README: &str = include_str!("../../README.md");
const CHANGELOG: &str = include_str!("../../CHANGELOG.md");

/// The `key = value` lines of one `[section]` of a manifest, values as written.
fn section<'a>(manifest: &'a str, name: &str) -> BTreeMap<&'a str, &'a str> {
    let header = format!("[{name}]");
    manifest
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.trim(), value.trim()))
        .collect()
}

/// The first quoted string of a value: `"0.8.4"` or `{ version = "0.8.4", ... }`.
fn quoted(value: &str) -> &str {
    value.split('"').nth(1).unwrap_or_default()
}

/// The rows of the README table under `heading`, as cells.
fn table(heading: &str) -> Vec<Vec<String>> {
    let start = README
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("the README has a `{heading}` section"));
    README[start..]
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // header and separator
        .map(|line| {
            line.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// What users put in `[dependencies]` for `version`: `0.x` below 1.0, the major above.
fn requirement(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    if parts[0] == "0" {
        format!("0.{}", parts[1])
    } else {
        parts[0].to_owned()
    }
}

fn version() -> &'static str {
    quoted(section(WORKSPACE, "workspace.package")["version"])
}

#[test]
fn the_dependency_line_asks_for_this_release() {
    let line = format!("vk-monitor = \"{}\"", requirement(version()));
    assert!(
        README.contains(&line),
        "the README's quick start says `{line}`"
    );
    let stale = README
        .match_indices("vk-monitor = ")
        .map(|(at, _)| README[at..].lines().next().unwrap())
        .filter(|mention| !mention.contains(&format!("\"{}\"", requirement(version()))))
        .collect::<Vec<_>>();
    assert!(
        stale.is_empty(),
        "dependency lines of another release: {stale:?}"
    );
}

#[test]
fn the_features_table_lists_every_feature_and_its_default() {
    let features = section(CRATE, "features");
    let defaults: Vec<&str> = features["default"]
        .trim_matches(['[', ']'])
        .split(',')
        .map(|name| name.trim().trim_matches('"'))
        .collect();
    let rows: BTreeMap<String, String> = table("## Cargo features")
        .into_iter()
        .map(|cells| (cells[0].trim_matches('`').to_owned(), cells[1].clone()))
        .collect();
    let declared: Vec<&str> = features
        .keys()
        .copied()
        .filter(|&f| f != "default")
        .collect();
    let listed: Vec<&str> = rows.keys().map(String::as_str).collect();
    assert_eq!(
        listed, declared,
        "one row per feature of vk-monitor/Cargo.toml"
    );
    for (feature, default) in &rows {
        let expected = if defaults.contains(&feature.as_str()) {
            "yes"
        } else {
            "no"
        };
        assert_eq!(default, expected, "is `{feature}` a default feature?");
    }
}

#[test]
fn the_compatibility_table_is_the_manifests() {
    let dependencies = section(WORKSPACE, "workspace.dependencies");
    let msrv = quoted(section(WORKSPACE, "workspace.package")["rust-version"]);
    let rows = table("## Compatibility");
    assert!(!rows.is_empty());
    for cells in rows {
        let (what, shown) = (&cells[0], &cells[1]);
        let expected = if what == "Rust (MSRV)" {
            msrv.to_owned()
        } else {
            let name = what.split_whitespace().next().unwrap();
            let value = dependencies
                .get(name)
                .unwrap_or_else(|| panic!("`{name}` is a workspace dependency"));
            requirement(quoted(value))
        };
        assert_eq!(shown, &expected, "the compatibility row of {what}");
    }
}

#[test]
fn the_changelog_has_a_section_for_this_release() {
    let heading = format!("## [{}] - ", version());
    assert!(
        CHANGELOG.contains(&heading),
        "CHANGELOG.md has `{heading}<date>`"
    );
    let link = format!("[{}]: https://", version());
    assert!(CHANGELOG.contains(&link), "CHANGELOG.md links `{link}...`");
}
