use vk_monitor::monitored;

#[monitored(name = "first", name = "second")]
fn checkout() {}

fn main() {}
