//! One outgoing request in flight, whichever front end sent it: its unit of work, its
//! `http.client` span, and what it ended with. Dropping the call records it, on every path:
//! a response, a transport failure, or the request future dropped before either (then
//! `cancelled`); a traced call leaves its span as the exemplar of its count and duration.

use http::{HeaderMap, HeaderValue, Method};

use super::classify::ErrorKind;
use super::handles::HostLabels;
use super::{OTHER_HOST, PathTemplate};
use crate::metrics::is_recording;
use crate::sentry::spans::{self, Traced};
use crate::sentry::trace;
use crate::work::{Ending, Work};

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

/// Records its request when dropped, with what it ended with (cancelled until told).
pub(super) struct Call {
    work: Work,
    span: Option<Traced>,
    ending: Ending,
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
        let unit = metrics_on.then(|| hosts.identity(&authority).method(target.method));
        let span = parent.map(|parent| {
            let path = template.map_or(target.path, PathTemplate::as_str);
            let description = format!("{method} {}://{authority}{path}", target.scheme);
            let span = parent.child("http.client", &description);
            span.set_data("http.request.method", method.into());
            span.set_data("server.address", target.host.into());
            if let Some(port) = target.port {
                span.set_data("server.port", port.into());
            }
            span
        });
        if let Some(span) = &span
            && trace::propagates_to(target.host)
        {
            insert(headers, trace::propagation_headers_of(span));
        }
        Some(Call {
            work: Work::start(unit),
            span,
            ending: Ending::Cancelled,
        })
    }

    /// The request was answered with `status`.
    pub(super) fn respond(mut self, status: u16) {
        self.ending = Ending::Answered(status);
    }

    /// The request failed without a response.
    pub(super) fn fail(mut self, kind: ErrorKind) {
        self.ending = Ending::Failed(kind.as_str());
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
        let trace = self.span.as_ref().map(Traced::ids);
        self.work.end(self.ending, trace);
        if let Some(span) = self.span.take() {
            match self.ending {
                Ending::Answered(code) => span.set_data("http.status_code", code.into()),
                Ending::Failed(kind) => span.set_data("error.type", kind.into()),
                _ => {}
            }
            span.end(self.ending);
        }
    }
}
