use vk_monitor::monitored;

#[monitored(name = "  ")]
fn checkout() {}

fn main() {}
