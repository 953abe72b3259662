use vk_monitor::MonitoredError;

#[derive(MonitoredError)]
enum ApiError {
    #[monitored(knid = "typo")]
    Unknown,
    #[monitored(status = 600)]
    OutOfRange,
    #[monitored(status = 42)]
    TooLow,
    #[monitored(status = "404")]
    NotANumber,
    #[monitored(ok, kind = "contradiction")]
    OkWithKind,
    #[monitored(status = 404, kind = "not_an_error")]
    KindOnAClientError,
    #[monitored(transparent)]
    TwoFields(u8, u8),
    #[monitored(crate = ::vk_monitor)]
    CrateOnAVariant,
    #[monitored(ok = true)]
    OkWithValue,
    #[monitored(kind)]
    KindWithoutValue,
}

#[derive(MonitoredError)]
#[monitored(transparent)]
enum TransparentEnum {
    A(u8),
}

fn main() {}
