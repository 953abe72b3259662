//! The metric handles of requests, made once per route, method and status and kept for the
//! life of the process. The steady state takes no lock and writes nothing shared: each thread
//! finds a route in a map of its own (filled from the shared one on its first request for the
//! route), a route's first statuses sit in slots read with one load (only later statuses go
//! through a map under a shared lock), and the counts go to the thread's own copy of the
//! cells. No registry lookup either way.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use http::Method;
use metrics::SharedString;

use crate::method::{LABELS, method_index, method_label};
use crate::metrics::counter::{self, Counter};
use crate::metrics::names::{
    HTTP_REQUEST_DURATION_HELP, HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_HELP,
    HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL,
};
use crate::metrics::{FnvBuild, HandleCache, Histogram, InFlight, histogram};

/// Statuses per route and method found without a lock: most routes answer with a few.
const SLOTS: usize = 4;

/// Handles of one route, per method. Made for every route served, with metrics off too: its
/// copy of the template is what the request's other records name it with.
pub(super) struct RouteHandles {
    route: SharedString,
    methods: [OnceLock<MethodHandles>; LABELS],
}

/// Handles of one route and method: the in-flight count, and per status the request counter
/// and the duration histogram.
pub(super) struct MethodHandles {
    route: SharedString,
    method: &'static str,
    pub(super) in_flight: &'static InFlight,
    /// The first statuses answered, each taken by the first request with it.
    slots: [OnceLock<(u16, &'static StatusHandles)>; SLOTS],
    /// Every status, where the handles are made (once each).
    by_status: HandleCache<u16, StatusHandles>,
}

/// Handles of one route, method and status.
pub(super) struct StatusHandles {
    pub(super) count: &'static Counter,
    pub(super) duration: &'static Histogram,
}

impl MethodHandles {
    pub(super) fn for_status(&self, status: u16) -> &'static StatusHandles {
        for slot in &self.slots {
            // A free slot takes this status, unless another thread fills it first.
            let &(taken, handles) = match slot.get() {
                Some(filled) => filled,
                None => slot.get_or_init(|| (status, self.make_status(status))),
            };
            if taken == status {
                return handles;
            }
        }
        self.make_status(status)
    }

    /// The handles of `status`, made on its first use.
    fn make_status(&self, status: u16) -> &'static StatusHandles {
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

thread_local! {
    /// The routes this thread has served, keyed by the route's own copy of its template. As
    /// many entries as the application has route templates (plus the unmatched label): a
    /// client's path never becomes a key.
    static LOCAL_ROUTES: RefCell<HashMap<&'static str, &'static RouteHandles, FnvBuild>> =
        const { RefCell::new(HashMap::with_hasher(FnvBuild::new())) };
}

/// The handles of `route` (a template, or the unmatched label): from this thread's map, else
/// from the shared one (and kept).
pub(super) fn route_handles(route: &str) -> &'static RouteHandles {
    let local = LOCAL_ROUTES.try_with(|routes| {
        let mut routes = routes.try_borrow_mut().ok()?;
        if let Some(&handles) = routes.get(route) {
            return Some(handles);
        }
        let handles = shared_route_handles(route);
        routes.insert(handles.name(), handles);
        Some(handles)
    });
    // Without the thread's map (a thread being torn down): the shared one.
    local
        .ok()
        .flatten()
        .unwrap_or_else(|| shared_route_handles(route))
}

fn shared_route_handles(route: &str) -> &'static RouteHandles {
    ROUTES.get_or_insert(route, |route| {
        let handles = RouteHandles {
            route: SharedString::from(route.to_owned()),
            methods: [const { OnceLock::new() }; LABELS],
        };
        (route.into(), handles)
    })
}

impl RouteHandles {
    /// The route's template, kept for the life of the process.
    pub(super) fn name(&'static self) -> &'static str {
        &self.route
    }

    /// The handles of the route and `method`, registered on their first use.
    pub(super) fn method(&'static self, method: &Method) -> &'static MethodHandles {
        let index = method_index(method);
        self.methods[index].get_or_init(|| {
            let method = method_label(index);
            MethodHandles {
                route: self.route.clone(),
                method,
                in_flight: InFlight::register(metrics::gauge!(
                    HTTP_REQUESTS_IN_FLIGHT,
                    "method" => method,
                    "route" => self.route.clone(),
                )),
                slots: [const { OnceLock::new() }; SLOTS],
                by_status: HandleCache::new(),
            }
        })
    }
}
