//! One outgoing request in flight, whichever front end sent it: its metric handles, its
//! `http.client` span, and what it ended with. Dropping the call records it, on every path:
//! a response, a transport failure, or the request future dropped before either (then
//! `cancelled`); a traced call leaves its span as the exemplar of its count and duration.

use http::{HeaderMap, HeaderValue, Method};
use quanta::Instant;
use sentry::protocol::SpanStatus;

use super::classify::ErrorKind;
use super::handles::{HostLabels, MethodHandles, Status};
use super::{OTHER_HOST, PathTemplate};
use crate::metrics::{is_recording, record_finished};
use crate::sentry::request::span_status;
use crate::sentry::spans::{self, Traced};
use crate::sentry::trace;

/// Where a request goes, as its URL says it.
pub(super) struct Target<'a> {
    pub(super) method: &'a Method,
    pub(super) scheme: &'a str,
    /// The host name, without the port; empty when the URL has none.
    pub(super) host: &'a str,
    /// The port when the URL names one.
    pub(super) port: Option<u16>,
    pub(super) path: &'a str,
}

/// Records its request when dropped, with what it ended with (`cancelled` until told).
pub(super) struct Call {
    handles: Option<&'static MethodHandles>,
    span: Option<Traced>,
    start: Instant,
    status: Status,
    error: Option<ErrorKind>,
}

impl Call {
    /// Starts recording a request to `target`: its metrics when a recorder is installed, a
    /// child span of the current span when there is one, whose trace the propagation headers
    /// added to `headers` continue (for hosts the propagation targets allow). In a request
    /// sampled out, the headers pass the negative decision on instead. `None`: nothing to
    /// record.
    pub(super) fn start(
        target: &Target<'_>,
        template: Option<&PathTemplate>,
        hosts: &HostLabels,
        headers: &mut HeaderMap,
    ) -> Option<Call> {
        let parent = spans::current_traced();
        let metrics_on = is_recording();
        if parent.is_none() {
            if let Some(unsampled) = spans::current_unsampled()
                && trace::propagates_to(target.host)
            {
                insert(headers, trace::unsampled_headers(&unsampled));
            }
            if !metrics_on {
                return None;
            }
        }
        let authority = match (target.host, target.port) {
            ("", _) => OTHER_HOST.to_owned(),
            (host, Some(port)) => format!("{host}:{port}"),
            (host, None) => host.to_owned(),
        };
        let method = crate::method::method_name(target.method);
        let handles = metrics_on.then(|| hosts.handles(&authority).for_method(target.method));
        if let Some(handles) = handles {
            handles.in_flight.enter();
        }
        let span = parent.map(|parent| {
            let path = template.map_or(target.path, PathTemplate::as_str);
            let description = format!("{method} {}://{authority}{path}", target.scheme);
            let span = parent.span.start_child("http.client", &description);
            span.set_data("http.request.method", method.into());
            span.set_data("server.address", target.host.into());
            if let Some(port) = target.port {
                span.set_data("server.port", port.into());
            }
            Traced {
                span: span.into(),
                baggage: parent.baggage,
            }
        });
        if let Some(span) = &span
            && trace::propagates_to(target.host)
        {
            insert(headers, trace::propagation_headers_for(&span.span));
        }
        Some(Call {
            handles,
            span,
            start: Instant::now(),
            status: Status::Cancelled,
            error: None,
        })
    }

    /// The request was answered with `status`.
    pub(super) fn respond(mut self, status: u16) {
        self.status = Status::Code(status);
    }

    /// The request failed without a response.
    pub(super) fn fail(mut self, kind: ErrorKind) {
        self.status = Status::Error;
        self.error = Some(kind);
    }
}

fn insert(headers: &mut HeaderMap, trace: Vec<(&'static str, String)>) {
    for (name, value) in trace {
        // The values are hex, digits and percent-encoded text: always valid.
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        if let Some(handles) = self.handles {
            let status = handles.for_status(self.status);
            let trace = self.span.as_ref().map(Traced::ids);
            record_finished(status.count, status.duration, elapsed, trace);
            if let Some(kind) = self.error {
                handles.errors(kind).increment();
            }
            handles.in_flight.exit();
        }
        if let Some(traced) = self.span.take() {
            let span = &traced.span;
            match (self.status, self.error) {
                (Status::Code(code), _) => {
                    span.set_status(span_status(code));
                    span.set_data("http.status_code", code.into());
                }
                (Status::Cancelled, _) => span.set_status(SpanStatus::Cancelled),
                (Status::Error, kind) => {
                    let kind = kind.unwrap_or(ErrorKind::Other);
                    span.set_data("error.type", kind.as_str().into());
                    span.set_status(match kind {
                        ErrorKind::Timeout => SpanStatus::DeadlineExceeded,
                        ErrorKind::Connect => SpanStatus::Unavailable,
                        ErrorKind::Body | ErrorKind::Other => SpanStatus::InternalError,
                    });
                }
            }
            traced.finish();
        }
    }
}
