use vk_monitor::monitored;

#[monitored]
const fn limit() -> usize {
    10
}

fn main() {}
