//! Free sync fns keep their attributes, docs, visibility, early returns and `?`.
use std::num::ParseIntError;

use vk_monitor::monitored;

/// Doubles a number given as text.
#[monitored]
#[inline]
#[must_use = "the parsed value"]
pub fn double(text: &str) -> Result<u64, ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: u64 = text.trim().parse()?;
    Ok(n * 2)
}

#[monitored(name = "box_error", op = "parse")]
pub(crate) fn boxed(text: &str) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Ok(text.parse::<u8>()?)
}

#[monitored]
fn unit() {}

#[monitored(op = "payment", tags(component = "billing", r#type = "card"))]
fn tagged() -> u8 {
    1
}

#[monitored]
fn borrowed<'a>(first: &'a str, _second: &str) -> &'a str {
    first
}

#[monitored]
fn option_of_trait_object() -> Option<Box<dyn std::fmt::Debug>> {
    Some(Box::new(1u8))
}

#[monitored]
unsafe fn raw_read(pointer: *const u8) -> u8 {
    // SAFETY: the caller passes a valid pointer.
    unsafe { *pointer }
}

#[monitored]
fn with_inner_attribute() -> u8 {
    #![allow(clippy::identity_op)]
    1 + 0
}

#[monitored]
fn destructured((a, b): (u8, u8), mut c: u8) -> u8 {
    c += 1;
    a + b + c
}

#[monitored]
fn r#type() -> u8 {
    1
}

#[monitored]
fn diverges() {
    panic!("never returns");
}

#[monitored]
async fn diverges_later() {
    panic!("never completes");
}

fn main() {
    if std::env::args().count() > 99 {
        diverges();
    }
    drop(diverges_later());
    let _ = double("21");
    let _ = boxed("1");
    unit();
    let _ = tagged();
    let _ = borrowed("a", "b");
    let _ = option_of_trait_object();
    let byte = 7u8;
    let _ = unsafe { raw_read(&byte) };
    let _ = with_inner_attribute();
    let _ = destructured((1, 2), 3);
    let _ = r#type();
}
