//! The response body: records its request when it ends or is dropped, so a streamed response
//! is timed to its last byte, and one whose client leaves mid-body is counted as cancelled
//! (`499`), not with its head's status.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use hyper::body::Buf;
use pin_project_lite::pin_project;

use super::tracker::RequestTracker;

pin_project! {
    /// A response body that records its request when it ends or is dropped, so a streamed
    /// response is timed to its last byte.
    pub struct ResponseBody<B> {
        // `None`: the empty body of the layer's own `500` for a handler that panicked, which
        // has no `B` to give, or a body that has ended. Declared first, so dropped before the
        // tracker.
        #[pin]
        inner: Option<B>,
        tracker: Option<RequestTracker>,
    }
}

impl<B> ResponseBody<B> {
    pub(super) fn new(inner: Option<B>, tracker: Option<RequestTracker>) -> Self {
        ResponseBody { inner, tracker }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(mut inner) = this.inner.as_mut().as_pin_mut() else {
            if let Some(mut tracker) = this.tracker.take() {
                tracker.body_ended();
            }
            return Poll::Ready(None);
        };
        let frame = ready!(inner.as_mut().poll_frame(cx));
        if let (Some(Ok(frame)), Some(tracker)) = (&frame, this.tracker.as_mut())
            && let Some(data) = frame.data_ref()
        {
            tracker.body_sent(data.remaining() as u64);
        }
        let finished = match &frame {
            None | Some(Err(_)) => true,
            Some(Ok(_)) => inner.is_end_stream(),
        };
        if finished {
            // The inner body goes first: what it holds for the request (tower-http's
            // `TraceLayer` keeps its span there) ends inside the request's transaction, which
            // the tracker finishes.
            this.inner.set(None);
            if let Some(mut tracker) = this.tracker.take() {
                tracker.body_ended();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
