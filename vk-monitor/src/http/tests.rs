use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::MonitorLayer;

/// A service whose response future panics when polled, as a handler with a bug does.
struct PanickingService;

impl Service<Request<()>> for PanickingService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future =
        std::future::PollFn<fn(&mut Context<'_>) -> Poll<Result<Response<String>, Infallible>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        std::future::poll_fn(|_| panic!("a handler bug"))
    }
}

#[test]
fn a_panicking_service_is_answered_500_with_an_empty_body() {
    let mut service = MonitorLayer::new().layer(PanickingService);
    let mut cx = Context::from_waker(Waker::noop());
    let future = pin!(service.call(Request::new(())));
    let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
        panic!("the panic is answered at once");
    };
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.body().is_end_stream());
    assert_eq!(response.body().size_hint().exact(), Some(0));
    let mut body = pin!(response.into_body());
    assert!(matches!(
        body.as_mut().poll_frame(&mut cx),
        Poll::Ready(None)
    ));
}
