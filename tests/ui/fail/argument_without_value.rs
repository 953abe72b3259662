use vk_monitor::monitored;

#[monitored(op)]
fn checkout() {}

fn main() {}
