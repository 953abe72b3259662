//! The hosts outgoing requests carry the trace to (`SENTRY_TRACE_PROPAGATION_TARGETS`): the
//! pattern syntax, its parsing and its matching.

use std::fmt;

/// What `SENTRY_TRACE_PROPAGATION_TARGETS` accepts.
pub(super) const TARGETS_EXPECTED: &str = "comma-separated host patterns: * for every host, \
     a host such as api.example.com, 10.0.0.5 or [::1], or *.example.com for the hosts under \
     example.com (no scheme, port or path)";

/// The hosts an outgoing request may carry the trace headers (`sentry-trace`, `traceparent`,
/// `baggage`) to.
///
/// Patterns, comma-separated, matched without regard to case:
/// - `*`: every host (the default, as in the Sentry SDKs);
/// - a host name or IP address, `api.example.com`, `10.0.0.5`, `[::1]` (or `::1`): exactly it;
/// - `*.example.com`: every host under `example.com` (`api.example.com`,
///   `a.b.example.com`), not `example.com` itself.
///
/// A host matched is the URL's host without port; a trailing dot is ignored.
///
/// ```
/// use vk_monitor::PropagationTargets;
///
/// let targets = PropagationTargets::parse("api.example.com, *.svc.cluster.local").unwrap();
/// assert!(targets.matches("API.example.com"));
/// assert!(targets.matches("speech.default.svc.cluster.local"));
/// assert!(!targets.matches("example.com"));
/// assert!(!targets.matches("tracker.ads.example"));
/// assert!(PropagationTargets::all().matches("anything.example"));
/// assert!(PropagationTargets::parse("https://api.example.com").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PropagationTargets {
    /// `None`: every host.
    patterns: Option<Vec<Pattern>>,
}

#[derive(Clone, PartialEq, Eq)]
enum Pattern {
    /// The host itself, lowercase, without brackets or trailing dot.
    Exact(String),
    /// `.example.com` for `*.example.com`: hosts ending with it.
    Under(String),
}

impl PropagationTargets {
    /// Every host: the default.
    pub fn all() -> Self {
        PropagationTargets { patterns: None }
    }

    /// Parses the comma-separated patterns; `None` when one of them is not a pattern (an empty
    /// item, a URL, a port, a `*` other than a whole first label).
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_patterns(text.split(','))
    }

    /// Parses each item as one pattern; `*` among them makes every host a target.
    pub fn from_patterns<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut patterns = Vec::new();
        let mut every_host = false;
        for item in items {
            match item.trim() {
                "*" => every_host = true,
                item => patterns.push(Pattern::parse(item)?),
            }
        }
        if every_host {
            return Some(Self::all());
        }
        (!patterns.is_empty()).then_some(PropagationTargets {
            patterns: Some(patterns),
        })
    }

    /// Whether `host` (a URL's host, without port) is one of the targets.
    pub fn matches(&self, host: &str) -> bool {
        let Some(patterns) = &self.patterns else {
            return true;
        };
        let host = normalise(host);
        patterns.iter().any(|pattern| match pattern {
            Pattern::Exact(exact) => host.eq_ignore_ascii_case(exact),
            Pattern::Under(suffix) => {
                host.len() > suffix.len()
                    && host.is_char_boundary(host.len() - suffix.len())
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
        })
    }
}

impl Default for PropagationTargets {
    fn default() -> Self {
        Self::all()
    }
}

impl fmt::Debug for PropagationTargets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for PropagationTargets {
    /// The patterns as they are parsed back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(patterns) = &self.patterns else {
            return f.write_str("*");
        };
        for (i, pattern) in patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match pattern {
                Pattern::Exact(host) if host.contains(':') => write!(f, "[{host}]")?,
                Pattern::Exact(host) => f.write_str(host)?,
                Pattern::Under(suffix) => write!(f, "*{suffix}")?,
            }
        }
        Ok(())
    }
}

impl Pattern {
    fn parse(item: &str) -> Option<Pattern> {
        if let Some(domain) = item.strip_prefix("*.") {
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            return is_host_name(domain).then(|| Pattern::Under(format!(".{}", lower(domain))));
        }
        if let Some(inner) = item.strip_prefix('[') {
            let address = inner.strip_suffix(']')?;
            return address
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(|_| Pattern::Exact(lower(address)));
        }
        if item.parse::<std::net::Ipv6Addr>().is_ok() {
            return Some(Pattern::Exact(lower(item)));
        }
        let host = item.strip_suffix('.').unwrap_or(item);
        is_host_name(host).then(|| Pattern::Exact(lower(host)))
    }
}

/// Dot-separated labels of letters, digits, `-` and `_`, none empty, at most 253 bytes: host
/// names and IPv4 addresses.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn lower(text: &str) -> String {
    text.to_ascii_lowercase()
}

/// `[::1]` as `::1`, `host.` as `host`: what patterns are stored as.
fn normalise(host: &str) -> &str {
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(text: &str) -> PropagationTargets {
        PropagationTargets::parse(text).unwrap_or_else(|| panic!("{text:?} is valid"))
    }

    #[test]
    fn exact_hosts_and_subdomains_match_without_regard_to_case() {
        let set = targets(" speech.internal ,*.svc.cluster.local,10.0.0.5, [::1], Edge.Example.");
        for host in [
            "speech.internal",
            "SPEECH.internal",
            "speech.internal.",
            "tts.default.svc.cluster.local",
            "svc.svc.cluster.local",
            "10.0.0.5",
            "[::1]",
            "::1",
            "edge.example",
        ] {
            assert!(set.matches(host), "{host}");
        }
        for host in [
            "svc.cluster.local", // the domain itself is not under it
            "evilsvc.cluster.local",
            "speech.internal.evil",
            "xspeech.internal",
            "10.0.0.50",
            "[::2]",
            "",
            "é.svc.cluster.local.x",
        ] {
            assert!(!set.matches(host), "{host}");
        }
        assert!(
            set.matches("ü.svc.cluster.local"),
            "a suffix match on any host"
        );
        assert_eq!(
            set.to_string(),
            "speech.internal,*.svc.cluster.local,10.0.0.5,[::1],edge.example"
        );
        assert_eq!(targets(&set.to_string()), set, "shown as it is parsed back");
    }

    #[test]
    fn a_star_means_every_host_and_is_the_default() {
        assert_eq!(PropagationTargets::default(), PropagationTargets::all());
        assert_eq!(targets("*"), PropagationTargets::all());
        assert_eq!(targets("api.example.com, *"), PropagationTargets::all());
        assert!(PropagationTargets::all().matches("anything"));
        assert_eq!(PropagationTargets::all().to_string(), "*");
    }

    #[test]
    fn what_is_not_a_host_pattern_is_refused() {
        for bad in [
            "",
            " ",
            "a,,b",
            "a,",
            "https://api.example.com",
            "api.example.com:8080",
            "api.example.com/v1",
            "*example.com",
            "api.*.com",
            "*.",
            "**.example.com",
            "a..b",
            "[::1",
            "[nothost]",
            "exa mple.com",
            "bücher.example",
            &"a".repeat(64),
            "*,https://x",
        ] {
            assert!(PropagationTargets::parse(bad).is_none(), "{bad:?}");
        }
    }
}
