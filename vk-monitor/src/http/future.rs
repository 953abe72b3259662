//! The response future of [`MonitorService`](super::MonitorService): polls the handler with the
//! request's Sentry hub current and its panics caught, and hands the tracker to the body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use super::tracker::RequestTracker;
use crate::catch_panic;

pin_project! {
    /// The response future of [`MonitorService`](super::MonitorService).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tracker: Option<RequestTracker>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, tracker: Option<RequestTracker>) -> Self {
        ResponseFuture { inner, tracker }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (inner, tracker) = (this.inner, this.tracker);
        let poll = match tracker.as_ref() {
            Some(tracker) => tracker.run(|| catch_panic::poll(inner, cx)),
            None => catch_panic::poll(inner, cx),
        };
        let result = match ready!(poll) {
            Ok(result) => result,
            Err(panic) => {
                catch_panic::discard(panic);
                return Poll::Ready(Ok(panic_response(tracker.take())));
            }
        };
        let mut tracker = tracker.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(tracker) = &mut tracker {
                    let ended = response.body().is_end_stream();
                    let length = response
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|value| value.to_str().ok()?.trim().parse().ok())
                        .or_else(|| response.body().size_hint().exact());
                    tracker.respond(response.status().as_u16(), ended, length);
                }
                Ok(response.map(|inner| ResponseBody::new(Some(inner), tracker)))
            }
            Err(error) => {
                // A service error becomes a 500 further out (axum's routes are infallible).
                if let Some(tracker) = &mut tracker {
                    tracker.set_status(500);
                }
                Err(error)
            }
        })
    }
}

/// The answer to a request whose handler panicked: a `500` with an empty body.
fn panic_response<B>(mut tracker: Option<RequestTracker>) -> Response<ResponseBody<B>> {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    if let Some(tracker) = &mut tracker {
        tracker.panicked(status.as_u16());
    }
    let mut response = Response::new(ResponseBody::new(None, tracker));
    *response.status_mut() = status;
    response
}
