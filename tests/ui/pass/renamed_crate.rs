//! `crate = path` for a renamed or re-exported dependency.
use vk_monitor as monitoring;

#[monitoring::monitored(crate = monitoring)]
fn work() -> u8 {
    1
}

mod nested {
    #[vk_monitor::monitored(crate = ::vk_monitor, name = "nested_work")]
    pub fn work() -> u8 {
        2
    }
}

fn main() {
    let _ = work() + nested::work();
}
