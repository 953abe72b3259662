//! The README's quick start: one annotated handler, `/metrics` and the HTTP layer mounted.
//!
//! `cargo run --example quickstart`, then `curl localhost:3000/calls/7` and
//! `curl localhost:3000/metrics`.

use axum::{Router, routing::get};
use vk_monitor::monitored;

#[monitored]
async fn get_call() -> &'static str {
    "call\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor = vk_monitor::init!()?;
    let app = Router::new()
        .route("/calls/{id}", get(get_call))
        .merge(monitor.router())
        .layer(monitor.layer());

    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("serving on http://{addr}: try /calls/7, then /metrics");
    axum::serve(listener, app).await?;
    Ok(())
}
