use vk_monitor::health_check;

#[health_check(kind = liveliness, timeout = "500", critical = "yes", colour = "red")]
fn database() -> bool {
    true
}

#[health_check(timeout = "0ms", name = "a", name = "b")]
fn cache() -> bool {
    true
}

#[health_check(timeout = 500)]
fn queue() -> bool {
    true
}

fn main() {}
