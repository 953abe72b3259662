use vk_monitor::health_check;

#[health_check]
fn connections() -> u32 {
    3
}

#[health_check]
async fn nothing() {}

fn main() {}
