//! The metric handles of outgoing calls, made once per host, method and status and kept for
//! the life of the process, and the bound on hosts: each layer or middleware names at most
//! its limit of hosts, and folds the rest into [`OTHER_HOST`].

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use http::Method;
use metrics::SharedString;

use super::classify::ErrorKind;
use super::{CANCELLED_STATUS, ERROR_STATUS, OTHER_HOST};
use crate::method::{LABELS, method_index, method_label};
use crate::metrics::counter::{self, Counter};
use crate::metrics::names::{
    HTTP_CLIENT_ERRORS_HELP, HTTP_CLIENT_ERRORS_TOTAL, HTTP_CLIENT_REQUEST_DURATION_HELP,
    HTTP_CLIENT_REQUEST_DURATION_SECONDS, HTTP_CLIENT_REQUESTS_HELP,
    HTTP_CLIENT_REQUESTS_IN_FLIGHT, HTTP_CLIENT_REQUESTS_TOTAL,
};
use crate::metrics::{HandleCache, Histogram, InFlight, histogram};

/// What a call ended with, as its `status` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Status {
    Code(u16),
    Error,
    Cancelled,
}

/// Handles of one host, per method.
pub(super) struct HostHandles {
    host: SharedString,
    methods: [OnceLock<MethodHandles>; LABELS],
}

/// Handles of one host and method.
pub(super) struct MethodHandles {
    host: SharedString,
    method: &'static str,
    pub(super) in_flight: &'static InFlight,
    by_status: HandleCache<Status, StatusHandles>,
    errors: [OnceLock<&'static Counter>; ErrorKind::ALL.len()],
}

/// Handles of one host, method and status.
pub(super) struct StatusHandles {
    pub(super) count: &'static Counter,
    pub(super) duration: &'static Histogram,
}

impl HostHandles {
    pub(super) fn for_method(&self, method: &Method) -> &MethodHandles {
        let index = method_index(method);
        self.methods[index].get_or_init(|| {
            let method = method_label(index);
            MethodHandles {
                host: self.host.clone(),
                method,
                in_flight: InFlight::register(metrics::gauge!(
                    HTTP_CLIENT_REQUESTS_IN_FLIGHT,
                    "method" => method,
                    "host" => self.host.clone(),
                )),
                by_status: HandleCache::new(),
                errors: [const { OnceLock::new() }; ErrorKind::ALL.len()],
            }
        })
    }
}

impl MethodHandles {
    pub(super) fn for_status(&self, status: Status) -> &'static StatusHandles {
        self.by_status.get_or_insert(&status, |&status| {
            let code;
            let status_label = match status {
                Status::Code(value) => {
                    code = value.to_string();
                    &*code
                }
                Status::Error => ERROR_STATUS,
                Status::Cancelled => CANCELLED_STATUS,
            };
            let labels = [
                ("method", self.method),
                ("host", &*self.host),
                ("status", status_label),
            ];
            let handles = StatusHandles {
                count: counter::register(
                    HTTP_CLIENT_REQUESTS_TOTAL,
                    HTTP_CLIENT_REQUESTS_HELP,
                    &labels,
                ),
                duration: histogram::register(
                    HTTP_CLIENT_REQUEST_DURATION_SECONDS,
                    HTTP_CLIENT_REQUEST_DURATION_HELP,
                    &labels,
                ),
            };
            (status, handles)
        })
    }

    pub(super) fn errors(&self, kind: ErrorKind) -> &'static Counter {
        self.errors[kind.index()].get_or_init(|| {
            let labels = [
                ("method", self.method),
                ("host", &*self.host),
                ("kind", kind.as_str()),
            ];
            counter::register(HTTP_CLIENT_ERRORS_TOTAL, HTTP_CLIENT_ERRORS_HELP, &labels)
        })
    }
}

/// Every host's handles, whichever layer named it: series are the process's.
static HOSTS: HandleCache<Box<str>, HostHandles> = HandleCache::new();

fn host_handles(host: &str) -> &'static HostHandles {
    HOSTS.get_or_insert(host, |host| {
        let handles = HostHandles {
            host: SharedString::from(host.to_owned()),
            methods: [const { OnceLock::new() }; LABELS],
        };
        (host.into(), handles)
    })
}

/// The hosts one layer or middleware labels by name: the first `max` it calls.
#[derive(Debug)]
pub(super) struct HostLabels {
    max: usize,
    named: RwLock<HashMap<Box<str>, &'static HostHandles>>,
}

impl std::fmt::Debug for HostHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.host)
    }
}

impl HostLabels {
    pub(super) fn new(max: usize) -> Self {
        HostLabels {
            max,
            named: RwLock::new(HashMap::new()),
        }
    }

    /// The handles of `host` (`name[:port]`), or of [`OTHER_HOST`] once `max` others are named.
    pub(super) fn handles(&self, host: &str) -> &'static HostHandles {
        let named = self.named.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(handles) = named.get(host) {
            return handles;
        }
        let full = named.len() >= self.max;
        drop(named);
        if full {
            return host_handles(OTHER_HOST);
        }
        let mut named = self.named.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(handles) = named.get(host) {
            return handles;
        }
        if named.len() >= self.max {
            return host_handles(OTHER_HOST);
        }
        let handles = host_handles(host);
        named.insert(host.into(), handles);
        handles
    }
}
