use vk_monitor::monitored;

#[monitored(name = checkout)]
fn checkout() {}

fn main() {}
