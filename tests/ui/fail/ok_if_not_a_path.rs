use vk_monitor::monitored;

#[monitored(ok_if = |v: &u8| *v > 0)]
fn count() -> u8 {
    1
}

fn main() {}
