use vk_monitor::monitored;

#[monitored(crate = "vk_monitor")]
fn checkout() {}

fn main() {}
