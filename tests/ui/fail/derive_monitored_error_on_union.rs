use vk_monitor::MonitoredError;

#[derive(MonitoredError)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
