//! Async fns: `?`, early return, borrowed arguments and coercions keep working, and the
//! instrumented future stays `Send` exactly when the original was.
use vk_monitor::monitored;

#[derive(Debug)]
struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failure")
    }
}

impl std::error::Error for Failure {}

#[monitored]
async fn fetch(id: u32) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if id == 0 {
        return Err(Box::new(Failure));
    }
    let parsed: u32 = id.to_string().parse()?;
    Ok(parsed)
}

#[monitored]
pub async fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or_default()
}

#[monitored]
async fn nothing() {}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let future = fetch(1);
    assert_send(&future);
    drop(future);
    let text = String::from("hello world");
    let future = first_word(&text);
    assert_send(&future);
    drop(future);
    drop(nothing());
}
