//! Every shape `#[derive(MonitoredError)]` takes: unit, tuple and named variants, a struct, a
//! generic type, a wrapper that defers to its field, and the crate under another name.
#![deny(warnings)]

use vk_monitor::{MonitoredError, monitored};

#[derive(MonitoredError)]
enum Inner {
    #[monitored(kind = "timeout")]
    Timeout,
    #[monitored(ok)]
    Absent,
}

#[derive(MonitoredError)]
#[monitored(kind = "storage")] // the default of the variants without their own
enum ApiError<E: std::fmt::Debug> {
    #[monitored(status = 404)]
    NotFound,
    #[monitored(status = 500)]
    Internal(E),
    Storage { table: &'static str },
    #[monitored(transparent)]
    Inner(Inner),
    #[monitored(transparent)]
    Named { source: Inner },
}

#[derive(MonitoredError)]
#[monitored(status = 429)]
struct Throttled;

#[derive(MonitoredError)]
#[monitored(transparent)]
struct Wrapped(Inner);

#[derive(MonitoredError)]
enum Never {}

mod renamed {
    pub use vk_monitor as monitoring;
}

#[derive(MonitoredError)]
#[monitored(crate = renamed::monitoring, kind = "renamed")]
struct Renamed {
    _why: String,
}

#[monitored]
fn fails(which: u8) -> Result<(), ApiError<String>> {
    match which {
        0 => Err(ApiError::NotFound),
        _ => Err(ApiError::Internal("boom".to_owned())),
    }
}

fn classify<E: MonitoredError>(error: &E) -> (bool, &'static str) {
    (error.is_error(), error.error_kind())
}

fn main() {
    assert_eq!(classify(&ApiError::<String>::NotFound).0, false);
    assert_eq!(classify(&ApiError::Internal(1)), (true, "server_error"));
    assert_eq!(classify(&ApiError::<u8>::Storage { table: "calls" }), (true, "storage"));
    assert_eq!(classify(&ApiError::<u8>::Inner(Inner::Timeout)), (true, "timeout"));
    assert_eq!(classify(&ApiError::<u8>::Named { source: Inner::Absent }).0, false);
    assert_eq!(classify(&Throttled).0, false);
    assert_eq!(classify(&Wrapped(Inner::Timeout)), (true, "timeout"));
    assert_eq!(classify(&Renamed { _why: String::new() }), (true, "renamed"));
    let _: Option<&dyn Fn(&Never) -> bool> = Some(&|never: &Never| never.is_error());
    assert!(fails(0).is_err() && fails(1).is_err());
}
