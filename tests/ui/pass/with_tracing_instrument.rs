//! `#[monitored]` and `#[tracing::instrument]` on the same function, in both orders, sync and
//! async: each attribute sees a function it can instrument.

use vk_monitor::monitored;

#[monitored]
#[tracing::instrument]
fn monitored_outside(n: u32) -> Result<u32, String> {
    if n > 0 { Ok(n) } else { Err("zero".into()) }
}

#[tracing::instrument]
#[monitored]
fn monitored_inside(n: u32) -> Result<u32, String> {
    monitored_outside(n)
}

#[monitored(op = "db.query")]
#[tracing::instrument(skip(name))]
async fn async_monitored_outside(name: String) -> usize {
    name.len()
}

#[tracing::instrument(level = "debug")]
#[monitored]
async fn async_monitored_inside(n: u64) -> Result<u64, std::io::Error> {
    Ok(n + async_monitored_outside("x".into()).await as u64)
}

fn main() {
    let _ = monitored_inside(1);
    let _ = async_monitored_inside(2);
}
