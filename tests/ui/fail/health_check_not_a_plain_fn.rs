use vk_monitor::health_check;

#[health_check]
const fn constant() -> bool {
    true
}

#[health_check]
fn generic<T: Default>() -> bool {
    true
}

#[health_check]
struct NotAFunction;

fn main() {}
