use vk_monitor::monitored;

#[monitored(tags = "billing")]
fn assigned() {}

#[monitored(tags(component = billing))]
fn not_a_string() {}

#[monitored(tags(component = "billing", component = "payments", tier = ""))]
fn duplicate_and_empty() {}

#[monitored(tags(component = "billing"), tags(tier = "gold"))]
fn twice() {}

fn main() {}
