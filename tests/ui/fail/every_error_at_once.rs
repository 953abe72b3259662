use vk_monitor::monitored;

#[monitored(name = 1, op = "db.query", op = "again", colour = "blue")]
const fn checkout() {}

fn main() {}
