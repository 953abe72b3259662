//! Generic fns with bounds and where clauses, const generics and generic return types.
use std::fmt::Display;

use vk_monitor::monitored;

#[monitored]
fn largest<T: PartialOrd + Copy, const N: usize>(items: [T; N]) -> Option<T> {
    items.into_iter().fold(None, |max, item| match max {
        Some(max) if max >= item => Some(max),
        _ => Some(item),
    })
}

#[monitored]
fn render<T, E>(value: Result<T, E>) -> Result<String, E>
where
    T: Display,
{
    Ok(value?.to_string())
}

#[monitored]
fn identity<T>(value: T) -> T {
    value
}

#[monitored]
async fn convert<'a, T>(value: &'a T) -> String
where
    T: Display + Sync + ?Sized,
{
    value.to_string()
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[monitored]
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    let _ = largest([1, 5, 3]);
    let _ = render::<u8, ()>(Ok(1));
    let _ = identity("x");
    drop(convert("text"));
    let _ = Wrapper(1u8).get();
    let _ = Wrapper("a").get();
}
