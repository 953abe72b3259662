use vk_monitor::monitored;

trait Store {
    #[monitored]
    fn load(&self) -> u8;
}

fn main() {}
