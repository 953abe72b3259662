use vk_monitor::monitored;

#[monitored]
fn total(prices: &[u64]) -> u64 {
    prices.iter().summ()
}

fn main() {
    total(&[1]);
}
