//! `GET /health`, `GET /ready` and `GET /startup`: reports in the `application/health+json`
//! format of the IETF health-check draft.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::check::{CheckKind, HealthStatus};
use super::registry::{HealthRegistry, HealthReport};
use crate::admin::MonitorToken;
use crate::{routes, service_info};

/// The media type of the health-check response format.
pub const CONTENT_TYPE: &str = "application/health+json";

/// The compiler the binary was built with.
const RUST_VERSION: &str = env!("VK_MONITOR_RUSTC_VERSION");

/// How much a health response says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthView {
    /// The overall status and each check's status: what a load balancer or an anonymous
    /// caller needs, and nothing an attacker could use.
    Status,
    /// Also the service's identity (version, release, environment, compiler), uptime, each
    /// check's observed value and response time.
    Standard,
    /// Also why a check failed (`output`), which can reveal internals.
    Full,
}

/// Who a health route answers, and so how much it says.
#[derive(Clone, Debug)]
pub(crate) enum Audience {
    /// Anyone, on the only port there is: [`HealthView::Standard`], or
    /// [`HealthView::Full`] with `HEALTH_SHOW_DETAILS`.
    Open,
    /// Anyone, on the application's port while operators have their own way in (an admin
    /// listener, or the token): [`HealthView::Status`]; [`HealthView::Full`] with
    /// `HEALTH_SHOW_DETAILS` or to requests that carry the token.
    Public(Option<MonitorToken>),
    /// Operators only: [`HealthView::Full`].
    Operators,
}

impl HealthRegistry {
    /// A router serving `/health` (liveness), `/ready` (readiness) and `/startup`, to anyone:
    /// without failure output unless `HEALTH_SHOW_DETAILS` is set.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.routes(Audience::Open)
    }

    pub(crate) fn routes<S>(&self, audience: Audience) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let route = |kind: CheckKind| {
            let (registry, audience) = (self.clone(), audience.clone());
            get(move |headers: HeaderMap| async move {
                let report = match kind {
                    CheckKind::Readiness => Arc::new(registry.readiness().await),
                    kind => registry.report(kind).await,
                };
                let view = match &audience {
                    _ if registry.show_details() => HealthView::Full,
                    Audience::Open => HealthView::Standard,
                    Audience::Public(Some(token)) if token.authorizes(&headers) => HealthView::Full,
                    Audience::Public(_) => HealthView::Status,
                    Audience::Operators => HealthView::Full,
                };
                registry.response(kind, &report, view)
            })
        };
        Router::new()
            .route(routes::HEALTH, route(CheckKind::Liveness))
            .route(routes::READY, route(CheckKind::Readiness))
            .route(routes::STARTUP, route(CheckKind::Startup))
    }

    fn response(&self, kind: CheckKind, report: &HealthReport, view: HealthView) -> Response {
        // Asking for details (`?verbose`) is not enough: see `Audience`.
        let body = self.body(kind, report, view);
        let status = match report.status {
            HealthStatus::Fail => StatusCode::SERVICE_UNAVAILABLE,
            HealthStatus::Pass | HealthStatus::Warn => StatusCode::OK,
        };
        let headers = [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ];
        (status, headers, body.to_string()).into_response()
    }

    /// The response body for `report`, saying as much as `view`.
    pub fn body(&self, kind: CheckKind, report: &HealthReport, view: HealthView) -> Value {
        let mut checks = Map::new();
        for check in &report.checks {
            let mut status = json!({ "status": check.report.status.as_str() });
            if view == HealthView::Status {
                checks.insert(format!("{}:status", check.name), json!([status]));
                continue;
            }
            let time = rfc3339(check.time);
            status["componentType"] = json!(check.component_type);
            status["time"] = json!(time);
            if let Some((value, unit)) = &check.report.observed {
                status["observedValue"] = json!(value);
                status["observedUnit"] = json!(unit);
            }
            if view == HealthView::Full
                && let Some(output) = &check.report.output
            {
                status["output"] = json!(output);
            }
            checks.insert(format!("{}:status", check.name), json!([status]));
            checks.insert(
                format!("{}:responseTime", check.name),
                json!([{
                    "componentType": check.component_type,
                    "observedValue": millis(check.duration),
                    "observedUnit": "ms",
                    "status": check.report.status.as_str(),
                    "time": time,
                }]),
            );
        }
        if view == HealthView::Status {
            return json!({ "status": report.status.as_str(), "checks": checks });
        }
        let info = service_info::get();
        let service = &info.service;
        json!({
            "status": report.status.as_str(),
            "version": info.version,
            "releaseId": info.release,
            "serviceId": service,
            "description": format!("{} of {service}", kind.as_str()),
            "environment": info.environment,
            "rustVersion": RUST_VERSION,
            "uptime": self.uptime().as_secs_f64(),
            "checks": checks,
        })
    }
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

/// `2026-11-27T03:04:05.678Z`.
fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_date(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, counting in 400-year eras of
/// 146,097 days that start on 1 March, so leap days fall at the end of a year.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap_day = UNIX_EPOCH + Duration::from_millis(951_782_400_250); // 2000-02-29
        assert_eq!(rfc3339(leap_day), "2000-02-29T00:00:00.250Z");
        let later = UNIX_EPOCH + Duration::from_secs(1_795_748_645); // 2026-11-27T03:04:05Z
        assert_eq!(rfc3339(later), "2026-11-27T03:04:05.000Z");
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }
}
