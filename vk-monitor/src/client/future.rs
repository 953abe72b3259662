//! The response future of [`ClientService`](super::ClientService): polls the request, ends it
//! at the layer's deadline, and tells the call what it ended with. Dropped before that, the
//! call records the request as `cancelled`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::call::Call;
use super::classify::{BoxError, ErrorKind, TimedOut};

pin_project! {
    /// The response future of [`ClientService`](super::ClientService).
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        deadline: Option<Sleep>,
        call: Option<Call>,
    }
}

impl<F> ClientFuture<F> {
    pub(super) fn new(inner: F, deadline: Option<Sleep>, call: Option<Call>) -> Self {
        ClientFuture {
            inner,
            deadline,
            call,
        }
    }
}

impl<F, B, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<B>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => {
                if let Some(call) = this.call.take() {
                    call.respond(response.status().as_u16());
                }
                Poll::Ready(Ok(response))
            }
            Poll::Ready(Err(error)) => {
                let error = error.into();
                if let Some(call) = this.call.take() {
                    call.fail(ErrorKind::of(&*error));
                }
                Poll::Ready(Err(error))
            }
            Poll::Pending => match this.deadline.as_pin_mut().map(|sleep| sleep.poll(cx)) {
                Some(Poll::Ready(())) => {
                    if let Some(call) = this.call.take() {
                        call.fail(ErrorKind::Timeout);
                    }
                    Poll::Ready(Err(Box::new(TimedOut)))
                }
                _ => Poll::Pending,
            },
        }
    }
}
