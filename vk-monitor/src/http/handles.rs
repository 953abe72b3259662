//! The metric handles of requests, made once per route, method and status and kept for the
//! life of the process: the steady state reads two maps under shared locks and adds to the
//! worker thread's own copy of a few counts, with no registry lookup.

use std::sync::OnceLock;

use http::Method;
use metrics::SharedString;

use crate::method::{LABELS, method_index, method_label};
use crate::metrics::counter::{self, Counter};
use crate::metrics::names::{
    HTTP_REQUEST_DURATION_HELP, HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_HELP,
    HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL,
};
use crate::metrics::{HandleCache, Histogram, InFlight, histogram};

/// Handles of one route, per method.
struct RouteHandles {
    route: SharedString,
    methods: [OnceLock<MethodHandles>; LABELS],
}

/// Handles of one route and method: the in-flight count, and per status the request counter
/// and the duration histogram.
pub(super) struct MethodHandles {
    route: SharedString,
    method: &'static str,
    pub(super) in_flight: &'static InFlight,
    by_status: HandleCache<u16, StatusHandles>,
}

/// Handles of one route, method and status.
pub(super) struct StatusHandles {
    pub(super) count: &'static Counter,
    pub(super) duration: &'static Histogram,
}

impl MethodHandles {
    pub(super) fn for_status(&self, status: u16) -> &'static StatusHandles {
        self.by_status.get_or_insert(&status, |&status| {
            let code = status.to_string();
            let labels = [
                ("method", self.method),
                ("route", &*self.route),
                ("status", &*code),
            ];
            let handles = StatusHandles {
                count: counter::register(HTTP_REQUESTS_TOTAL, HTTP_REQUESTS_HELP, &labels),
                duration: histogram::register(
                    HTTP_REQUEST_DURATION_SECONDS,
                    HTTP_REQUEST_DURATION_HELP,
                    &labels,
                ),
            };
            (status, handles)
        })
    }
}

static ROUTES: HandleCache<Box<str>, RouteHandles> = HandleCache::new();

/// The handles of `route` (a template, or the unmatched label) and `method`.
pub(super) fn method_handles(route: &str, method: &Method) -> &'static MethodHandles {
    let route = ROUTES.get_or_insert(route, |route| {
        let handles = RouteHandles {
            route: SharedString::from(route.to_owned()),
            methods: [const { OnceLock::new() }; LABELS],
        };
        (route.into(), handles)
    });
    let index = method_index(method);
    route.methods[index].get_or_init(|| {
        let method = method_label(index);
        MethodHandles {
            route: route.route.clone(),
            method,
            in_flight: InFlight::register(metrics::gauge!(
                HTTP_REQUESTS_IN_FLIGHT,
                "method" => method,
                "route" => route.route.clone(),
            )),
            by_status: HandleCache::new(),
        }
    })
}
