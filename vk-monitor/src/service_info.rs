//! Who the process is: the service, its version, environment and release, with their
//! defaults, decided once at start-up and read by what names the service (`build_info`, the
//! health endpoints; the Sentry client is given the same release).

use std::borrow::Cow;
use std::sync::OnceLock;

/// The version when none is known.
pub(crate) const UNKNOWN_VERSION: &str = "unknown";
/// The environment when none is set.
pub(crate) const DEFAULT_ENVIRONMENT: &str = "development";

/// The service's identity.
#[derive(Debug)]
pub(crate) struct ServiceInfo {
    pub(crate) service: Cow<'static, str>,
    pub(crate) version: Cow<'static, str>,
    pub(crate) environment: Cow<'static, str>,
    pub(crate) release: Cow<'static, str>,
}

/// The service name when none is given: the executable's file name.
pub(crate) fn executable_name() -> Cow<'static, str> {
    std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .map_or(Cow::Borrowed("unknown_service"), Cow::Owned)
}

impl ServiceInfo {
    /// The release defaults to `service@version`, the Sentry convention.
    pub(crate) fn new(
        service: Cow<'static, str>,
        version: Cow<'static, str>,
        environment: Cow<'static, str>,
        release: Option<Cow<'static, str>>,
    ) -> Self {
        let release = release.unwrap_or_else(|| format!("{service}@{version}").into());
        ServiceInfo {
            service,
            version,
            environment,
            release,
        }
    }
}

static INFO: OnceLock<ServiceInfo> = OnceLock::new();

/// Names the process, once: the first call wins, and the winner is returned.
pub(crate) fn set(info: ServiceInfo) -> &'static ServiceInfo {
    INFO.get_or_init(|| info)
}

/// The process's identity; before [`set`], `unknown_service`, version `unknown`.
pub(crate) fn get() -> &'static ServiceInfo {
    static UNKNOWN: OnceLock<ServiceInfo> = OnceLock::new();
    INFO.get().unwrap_or_else(|| {
        UNKNOWN.get_or_init(|| {
            ServiceInfo::new(
                "unknown_service".into(),
                UNKNOWN_VERSION.into(),
                DEFAULT_ENVIRONMENT.into(),
                None,
            )
        })
    })
}
