//! The tower front end: [`ClientLayer`] and its service, for hyper and other tower clients.

#[cfg(doc)]
use super::classify::TimedOut;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Target};
use super::classify::BoxError;
use super::future::ClientFuture;
use super::handles::{HostLabels, host_labels};
use super::{DEFAULT_MAX_HOSTS, PathTemplate};

/// Monitors every request through the wrapped client service (`http::Request<B>` in,
/// `http::Response<B2>` out): the `http_client_*` metrics by method, host and status, an
/// `http.client` span child of the current span, and the trace headers for the host called.
/// See [the module](crate::client) for the metrics and labels.
///
/// The service's error is [`BoxError`], the inner error boxed (as tower's own middleware
/// does), so that its kind can be read from its chain of sources.
///
/// ```
/// use std::time::Duration;
/// use http_body_util::Empty;
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower_layer::Layer;
/// use tower_service::Service;
/// use vk_monitor::client::{ClientLayer, PathTemplate};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vk_monitor::client::BoxError> {
/// # let exporter = vk_monitor::Exporter::install()?;
/// # let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = server.local_addr()?;
/// # let app = axum::Router::new().route("/v1/calls/{id}", axum::routing::get(|| async { "hi" }));
/// # tokio::spawn(async move { axum::serve(server, app).await });
/// let hyper = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
/// let mut client = ClientLayer::new()
///     .max_hosts(10)
///     .timeout(Duration::from_secs(2))
///     .layer(hyper);
///
/// let mut request = http::Request::get(format!("http://{addr}/v1/calls/17")).body(Empty::new())?;
/// request.extensions_mut().insert(PathTemplate::new("/v1/calls/{id}"));
/// std::future::poll_fn(|cx| client.poll_ready(cx)).await?;
/// let response = client.call(request).await?;
/// assert_eq!(response.status(), 200);
///
/// let line = format!(r#"http_client_requests_total{{method="GET",host="{addr}",status="200"}} 1"#);
/// assert!(exporter.render().contains(&line));
/// # Ok(()) }
/// ```
///
/// Clones share their bound on hosts: the first [`max_hosts`](Self::max_hosts) hosts called
/// through any of them keep their names.
#[derive(Clone, Debug)]
pub struct ClientLayer {
    hosts: Arc<HostLabels>,
    timeout: Option<Duration>,
}

impl Default for ClientLayer {
    fn default() -> Self {
        ClientLayer {
            hosts: Arc::new(host_labels(DEFAULT_MAX_HOSTS)),
            timeout: None,
        }
    }
}

impl ClientLayer {
    /// A layer naming up to [`DEFAULT_MAX_HOSTS`] hosts, without a timeout of its own.
    pub fn new() -> Self {
        ClientLayer::default()
    }

    /// Names at most `max` hosts in the `host` label; calls to any further host are labelled
    /// [`OTHER_HOST`](super::OTHER_HOST). `0` labels every call `other`.
    pub fn max_hosts(mut self, max: usize) -> Self {
        self.hosts = Arc::new(host_labels(max));
        self
    }

    /// Ends a request with [`TimedOut`] (recorded as `status="error"`, `kind="timeout"`) when
    /// it has no response after `timeout`. Without it, a timeout around the call drops the
    /// request future, which records it as `cancelled`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientService {
            inner,
            hosts: Arc::clone(&self.hosts),
            timeout: self.timeout,
        }
    }
}

/// The service of [`ClientLayer`].
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    hosts: Arc<HostLabels>,
    timeout: Option<Duration>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = Response<ResBody>;
    type Error = BoxError;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Split to read the URI and extensions while adding headers; moves, no copies.
        let (mut parts, body) = request.into_parts();
        let target = Target {
            method: &parts.method,
            scheme: parts.uri.scheme_str().unwrap_or("http"),
            host: parts.uri.host().unwrap_or_default(),
            port: parts.uri.port_u16(),
            path: parts.uri.path(),
        };
        let template = parts.extensions.get::<PathTemplate>();
        let call = Call::start(&target, template, &self.hosts, &mut parts.headers);
        let deadline = self.timeout.map(tokio::time::sleep);
        let request = Request::from_parts(parts, body);
        ClientFuture::new(self.inner.call(request), deadline, call)
    }
}
