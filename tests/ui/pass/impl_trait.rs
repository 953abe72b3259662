//! `impl Trait` in argument and return position, sync and async.
use std::fmt::Display;

use vk_monitor::monitored;

#[monitored]
fn numbers(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[monitored]
fn shout(text: impl Display) -> impl Display {
    format!("{text}!")
}

#[monitored]
async fn later(limit: u32) -> impl Display {
    limit + 1
}

#[monitored]
fn fallible(ready: bool) -> Result<impl Display, String> {
    if ready { Ok(7_u32) } else { Err("not ready".into()) }
}

#[monitored]
fn literal() -> Result<impl Display, String> {
    Ok(1)
}

fn main() {
    let _ = literal();
    let _: Vec<u32> = numbers(10).collect();
    let _ = shout("hi").to_string();
    drop(later(1));
    let _ = fallible(true);
}
