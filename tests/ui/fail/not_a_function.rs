use vk_monitor::monitored;

#[monitored]
pub struct Checkout {
    total: u64,
}

fn main() {
    let _ = Checkout { total: 1 }.total;
}
