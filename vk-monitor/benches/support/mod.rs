//! What the in-process HTTP benches share: one request through a router, polled to its end
//! with a no-op waker, without sockets.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::body::Body;
use http::Request;
use http_body::Body as _;
use tower_service::Service;

/// One `GET path` through `app`, its body read to the end; the bytes read.
pub fn serve(app: &mut Router, path: &str) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    let request = Request::get(path)
        .header(http::header::HOST, "127.0.0.1:3000")
        .body(Body::empty())
        .expect("a valid request");
    let mut future = pin!(app.call(request));
    let response = loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            break response.expect("the router is infallible");
        }
    };
    let mut body = pin!(response.into_body());
    let mut bytes = 0;
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(Some(frame)) => {
                let frame = frame.expect("the body is in memory");
                bytes += frame.data_ref().map_or(0, |data| data.len());
            }
            Poll::Ready(None) => return bytes,
            Poll::Pending => {}
        }
    }
}
