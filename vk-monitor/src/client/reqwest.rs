//! The `reqwest-middleware` front end: [`ClientMiddleware`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use super::call::{Call, Target};
use super::classify::ErrorKind;
use super::handles::{HostLabels, host_labels};
use super::{DEFAULT_MAX_HOSTS, PathTemplate};

/// Monitors every request of a `reqwest_middleware::ClientWithMiddleware`, as
/// [`ClientLayer`](super::ClientLayer) does for tower clients: the `http_client_*` metrics, an
/// `http.client` span child of the current span, and the trace headers for the host called.
/// Timeouts are reqwest's own (`ClientBuilder::timeout`, `RequestBuilder::timeout`) and are
/// recorded as `kind="timeout"`.
///
/// ```
/// use vk_monitor::client::{ClientMiddleware, PathTemplate};
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ClientMiddleware::new().max_hosts(10))
///     .build();
/// # async fn transcript(client: &reqwest_middleware::ClientWithMiddleware) -> reqwest_middleware::Result<String> {
/// let text = client
///     .get("http://speech.internal/v1/transcripts/17")
///     .with_extension(PathTemplate::new("/v1/transcripts/{call}"))
///     .send()
///     .await?
///     .text()
///     .await?;
/// # Ok(text) }
/// # let _ = client;
/// ```
///
/// The duration ends at the response head; reading the body is the caller's. Clones share
/// their bound on hosts.
#[derive(Clone, Debug)]
pub struct ClientMiddleware {
    hosts: Arc<HostLabels>,
}

impl Default for ClientMiddleware {
    fn default() -> Self {
        ClientMiddleware {
            hosts: Arc::new(host_labels(DEFAULT_MAX_HOSTS)),
        }
    }
}

impl ClientMiddleware {
    /// A middleware naming up to [`DEFAULT_MAX_HOSTS`] hosts.
    pub fn new() -> Self {
        ClientMiddleware::default()
    }

    /// Names at most `max` hosts in the `host` label; calls to any further host are labelled
    /// [`OTHER_HOST`](super::OTHER_HOST).
    pub fn max_hosts(mut self, max: usize) -> Self {
        self.hosts = Arc::new(host_labels(max));
        self
    }
}

type Answer = reqwest_middleware::Result<reqwest::Response>;

impl Middleware for ClientMiddleware {
    fn handle<'s, 'e, 'n, 'f>(
        &'s self,
        mut request: reqwest::Request,
        extensions: &'e mut Extensions,
        next: Next<'n>,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + 'f>>
    where
        's: 'f,
        'e: 'f,
        'n: 'f,
        Self: 'f,
    {
        // Runs in the caller's poll (the chain starts when the request future is first
        // polled), where the caller's span is current.
        // Copies: the headers are added to while the URL is read.
        let (method, url) = (request.method().clone(), request.url().clone());
        let target = Target {
            method: &method,
            scheme: url.scheme(),
            host: url.host_str().unwrap_or_default(),
            port: url.port(),
            path: url.path(),
        };
        let template = extensions.get::<PathTemplate>();
        let call = Call::start(&target, template, &self.hosts, request.headers_mut());
        Box::pin(async move {
            let answer = next.run(request, extensions).await;
            if let Some(call) = call {
                match &answer {
                    Ok(response) => call.respond(response.status().as_u16()),
                    Err(error) => call.fail(kind_of(error)),
                }
            }
            answer
        })
    }
}

fn kind_of(error: &reqwest_middleware::Error) -> ErrorKind {
    match error {
        reqwest_middleware::Error::Reqwest(error) => ErrorKind::of(error),
        // `#[error(transparent)]`: its source is the middleware error's own source.
        reqwest_middleware::Error::Middleware(error) => ErrorKind::of(error.as_ref()),
    }
}
