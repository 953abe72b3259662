use vk_monitor::monitored;

#[monitored(nmae = "checkout")]
fn checkout() {}

fn main() {}
