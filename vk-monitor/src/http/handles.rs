//! What the server records per request: its families, and the scope that names every route
//! template (the core keeps the series, `work`).

use std::sync::LazyLock;

use crate::metrics::names::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL,
};
use crate::work::{Families, LabelStyle, Objective, Scope, Tree};

static FAMILIES: Families = Families {
    total: HTTP_REQUESTS_TOTAL,
    duration: HTTP_REQUEST_DURATION_SECONDS,
    in_flight: HTTP_REQUESTS_IN_FLIGHT,
    errors: None,
    ending_label: "status",
    style: LabelStyle::ServerStatus,
};

static TREE: Tree = Tree::new(&FAMILIES, "route");

/// Every route template served, and the unmatched label: named from code, never from a path.
pub(super) fn routes() -> &'static Scope {
    static ROUTES: LazyLock<Scope> = LazyLock::new(|| Scope::unbounded(&TREE));
    &ROUTES
}

/// The route template `route` counts for `objective` (its requests' series made from now on).
pub(super) fn set_objective(route: &str, objective: Objective) {
    TREE.set_objective(route, objective);
}
