use vk_monitor::monitored;

fn is_ok(value: &u8) -> bool {
    *value > 0
}

#[monitored(ok_if = is_ok, error_if = is_ok)]
fn count() -> u8 {
    1
}

fn main() {}
