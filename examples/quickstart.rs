//! The README's quick start: one annotated handler, `/metrics` mounted beside it.
//!
//! `cargo run --example quickstart`, then `curl localhost:3000/hello` and
//! `curl localhost:3000/metrics`.

use axum::{Router, routing::get};
use vk_monitor::{Exporter, monitored};

#[monitored]
async fn hello() -> &'static str {
    "hello\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = Exporter::builder()
        .service(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .install()?;
    let app = Router::new()
        .route("/hello", get(hello))
        .merge(exporter.router());

    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("serving on http://{addr}: try /hello, then /metrics");
    axum::serve(listener, app).await?;
    Ok(())
}
