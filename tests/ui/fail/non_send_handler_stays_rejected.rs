use std::rc::Rc;

use axum::{Router, routing::get};
use vk_monitor::monitored;

// Instrumenting a handler neither adds nor removes `Send`: this one holds an `Rc` across an
// await, so axum must still reject it.
#[monitored]
async fn handler() -> &'static str {
    let shared = Rc::new(1);
    tokio::task::yield_now().await;
    drop(shared);
    "ok"
}

fn main() {
    let _app: Router = Router::new().route("/", get(handler));
}
