//! What an outgoing call records: its families, and the bound on hosts each layer or
//! middleware names (the first of its limit, the rest folded into [`OTHER_HOST`]). The core
//! keeps the series (`work`).

use super::OTHER_HOST;
use crate::metrics::names::{
    HTTP_CLIENT_ERRORS_TOTAL, HTTP_CLIENT_REQUEST_DURATION_SECONDS, HTTP_CLIENT_REQUESTS_IN_FLIGHT,
    HTTP_CLIENT_REQUESTS_TOTAL,
};
use crate::work::{Families, LabelStyle, Scope, Tree};

static FAMILIES: Families = Families {
    total: HTTP_CLIENT_REQUESTS_TOTAL,
    duration: HTTP_CLIENT_REQUEST_DURATION_SECONDS,
    in_flight: HTTP_CLIENT_REQUESTS_IN_FLIGHT,
    errors: Some(HTTP_CLIENT_ERRORS_TOTAL),
    ending_label: "status",
    style: LabelStyle::ClientStatus,
};

/// Every host's series, whichever layer named it: series are the process's.
static TREE: Tree = Tree::new(&FAMILIES, "host");

/// The hosts one layer or middleware labels by name: the first `max` it calls.
pub(super) type HostLabels = Scope;

/// A layer's bound of `max` hosts.
pub(super) fn host_labels(max: usize) -> HostLabels {
    Scope::bounded(&TREE, max, OTHER_HOST)
}
