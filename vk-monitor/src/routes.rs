//! The paths of the monitoring routes, the label of requests that matched none, and the set of
//! routes the HTTP layer and Sentry leave out: one list, built once by whoever configures the
//! layer, read by every consumer that filters by route.

use std::sync::Arc;

/// `GET /metrics`: the Prometheus exposition.
pub const METRICS: &str = "/metrics";
/// `GET /health`: liveness.
pub const HEALTH: &str = "/health";
/// `GET /ready`: readiness.
pub const READY: &str = "/ready";
/// `GET /startup`: startup.
pub const STARTUP: &str = "/startup";
/// `GET /debug/pprof/profile`: a CPU profile (feature `profiling`).
#[cfg(feature = "profiling")]
pub const PROFILE: &str = "/debug/pprof/profile";

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

/// Routes left out by default: the monitoring endpoints themselves.
pub const DEFAULT_EXCLUDED_ROUTES: &[&str] = &[METRICS, HEALTH, READY, STARTUP];

/// Route templates that are neither measured nor traced. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ExcludedRoutes(Arc<[Box<str>]>);

impl Default for ExcludedRoutes {
    fn default() -> Self {
        ExcludedRoutes(DEFAULT_EXCLUDED_ROUTES.iter().map(|&r| r.into()).collect())
    }
}

impl ExcludedRoutes {
    /// No route excluded, the monitoring endpoints included.
    pub(crate) fn none() -> Self {
        ExcludedRoutes(Arc::new([]))
    }

    /// These routes and `route`.
    pub(crate) fn with(&self, route: impl Into<String>) -> Self {
        let mut routes = self.0.to_vec();
        routes.push(route.into().into_boxed_str());
        ExcludedRoutes(routes.into())
    }

    /// Whether the route template `route` is left out.
    pub(crate) fn contains(&self, route: &str) -> bool {
        self.0.iter().any(|excluded| **excluded == *route)
    }

    /// Whether a request for `path` (a raw path, as an event's URL has it) matches a template
    /// left out: `{name}` matches one segment, `{*name}` the rest of the path.
    pub(crate) fn matches_path(&self, path: &str) -> bool {
        self.0
            .iter()
            .any(|template| template_matches(template, path))
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    for expected in template.split('/') {
        if expected.starts_with("{*") && expected.ends_with('}') {
            return true;
        }
        let Some(segment) = segments.next() else {
            return false;
        };
        let parameter = expected.len() > 2 && expected.starts_with('{') && expected.ends_with('}');
        if !parameter && expected != segment {
            return false;
        }
    }
    segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates_segment_by_segment() {
        let excluded = ExcludedRoutes::none()
            .with("/internal/{id}")
            .with("/static/{*file}")
            .with("/health");
        for path in ["/internal/42", "/static/css/app.css", "/static/", "/health"] {
            assert!(excluded.matches_path(path), "{path}");
        }
        for path in [
            "/internal",
            "/internal/42/more",
            "/healthz",
            "/calls/7",
            "/",
            "",
        ] {
            assert!(!excluded.matches_path(path), "{path}");
        }
        assert!(
            !excluded.contains("/internal/42"),
            "templates match templates"
        );
        assert!(excluded.contains("/internal/{id}"));
    }
}
