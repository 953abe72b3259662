use vk_monitor::health_check;

#[health_check]
fn database() -> bool {
    true
}

mod replica {
    #[vk_monitor::health_check(name = "database")]
    pub fn primary_database() -> bool {
        true
    }
}

fn main() {}
