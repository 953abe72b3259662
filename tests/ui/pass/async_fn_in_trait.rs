//! Native `async fn` in traits: default bodies and implementations.
use vk_monitor::monitored;

trait Repository {
    async fn find(&self, id: u32) -> Option<u32>;

    #[monitored]
    async fn exists(&self, id: u32) -> bool {
        self.find(id).await.is_some()
    }
}

struct Memory(Vec<u32>);

impl Repository for Memory {
    #[monitored]
    async fn find(&self, id: u32) -> Option<u32> {
        self.0.iter().copied().find(|&row| row == id)
    }
}

fn main() {
    let memory = Memory(vec![1, 2]);
    drop(memory.exists(1));
    drop(memory.find(2));
}
