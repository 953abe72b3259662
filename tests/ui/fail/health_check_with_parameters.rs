use vk_monitor::health_check;

struct Pool;

#[health_check]
async fn database(pool: &Pool) -> bool {
    let _ = pool;
    true
}

struct Service;

impl Service {
    #[health_check]
    fn ready(&self) -> bool {
        true
    }
}

fn main() {}
