//! What the example services share at start-up and shutdown: logs set up first, a start-up
//! error printed once, in the log and on standard error; and a graceful stop that drains on
//! SIGTERM and flushes Sentry on the way out.

use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use vk_monitor::{AppSettings, Monitor};

/// `LISTEN_ADDR`, or `default`.
pub fn listen_addr(settings: &mut AppSettings, default: &str) -> SocketAddr {
    let default = default.parse().expect("a valid default address");
    settings.get_or(
        "LISTEN_ADDR",
        default,
        "a socket address such as 127.0.0.1:3000",
        |v| v.trim().parse().ok(),
    )
}

/// `SHUTDOWN_DRAIN_MS`: on SIGTERM, how long `/ready` fails before the service stops.
pub fn drain(settings: &mut AppSettings) -> Duration {
    settings.get_or(
        "SHUTDOWN_DRAIN_MS",
        Duration::from_secs(5),
        "a whole number of milliseconds",
        |v| v.trim().parse().ok().map(Duration::from_millis),
    )
}

/// Runs a service's `run` with logs set up (`RUST_LOG`, `LOG_FORMAT`; every line inside a
/// traced request carries the Sentry trace id); a failure is reported under `name`.
pub async fn main<F>(name: &str, run: F) -> ExitCode
where
    F: Future<Output = Result<(), Box<dyn Error>>>,
{
    if let Err(error) = vk_monitor::tracing::init() {
        eprintln!("{name}: {error}");
        return ExitCode::FAILURE;
    }
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Display, not Debug: `METRICS_ADDR=...: cannot serve the admin routes there: ...`.
            tracing::error!(%error, "{name} could not start");
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves `app` until ctrl-c, or SIGTERM after `drain`; then drops the monitor, the last
/// handle on it, which flushes what Sentry still has queued.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    monitor: Monitor,
    drain: Duration,
) -> Result<(), Box<dyn Error>> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal(name, monitor.clone(), drain))
        .await?;
    drop(monitor);
    tracing::info!("{name} stopped");
    Ok(())
}

/// Resolves on ctrl-c, or on SIGTERM after a drain period: readiness fails at once, so load
/// balancers stop sending traffic while in-flight and late requests are still served.
async fn shutdown_signal(name: &'static str, monitor: Monitor, drain: Duration) {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {
            monitor.shutdown();
            tracing::info!(?drain, "{name} draining: /ready now fails");
            tokio::time::sleep(drain).await;
        },
    }
}
