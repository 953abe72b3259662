//! On-demand CPU profiles of the whole process: owns `GET /debug/pprof/profile`, the
//! process-wide "one profile at a time" guard, and the rendering of a profile as a flame graph
//! SVG or a gzipped pprof protobuf.
//!
//! The Rust Sentry SDK has no profiler; this endpoint takes its place for "where does the CPU
//! go" questions in production. Sampling uses pprof-rs: a `SIGPROF` timer on the process's CPU
//! time (`setitimer(ITIMER_PROF)`), so every thread that burns CPU is sampled, not only the
//! ones that serve requests.
//!
//! # Security
//!
//! A profile shows the service's code paths, and each request costs CPU for its whole duration.
//! Serve this router only on the metrics listener or behind the admin bearer token, never on the
//! public listener. The router itself checks nothing.
//!
//! # Query parameters
//!
//! | parameter | default | accepted |
//! |---|---|---|
//! | `seconds` | 30 (as Go's `net/http/pprof`) | 1..=60 |
//! | `format` | `svg` (flame graph, `image/svg+xml`) | `svg`, `pprof` (gzipped protobuf, `application/octet-stream`) |
//! | `frequency` | 99 (Hz) | 1..=1000 |
//!
//! Anything else in those parameters is a `400` whose plain-text body names the parameter,
//! the value and the accepted range. Other parameters are ignored. While a profile runs, every
//! other request is answered `429 Too Many Requests`: the profiler and its signal handler are
//! process-wide. A client that disconnects early stops the profile.
//!
//! ```no_run
//! let admin: axum::Router = axum::Router::new().merge(vk_monitor::profiling::router());
//! ```
//!
//! ```text
//! curl -o cpu.svg 'http://127.0.0.1:9090/debug/pprof/profile?seconds=30'
//! go tool pprof -http=: 'http://127.0.0.1:9090/debug/pprof/profile?seconds=30&format=pprof'
//! ```
//!
//! Samples whose interrupted instruction is in libc, libgcc, libpthread or the vDSO are
//! dropped, not unwound: libgcc's unwinder is not async-signal-safe there and can deadlock
//! (pprof-rs' `blocklist`), and some vDSOs carry wrong unwind tables. Time spent inside those
//! libraries (`memcpy`, `malloc`, syscall wrappers) is therefore under-counted.
//!
//! pprof-rs spills samples that do not fit its fixed in-memory table to a temporary file, so
//! the process needs a writable temporary directory (`TMPDIR`); without one every request
//! answers `500` with the profiler's error.

use std::fmt;
use std::io::Write as _;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use pprof::protos::Message as _;
use pprof::{ProfilerGuard, ProfilerGuardBuilder};

/// The route [`router`] serves.
pub const PATH: &str = crate::routes::PROFILE;

const SECONDS: RangeInclusive<u64> = 1..=60;
const DEFAULT_SECONDS: u64 = 30;
const FREQUENCY: RangeInclusive<i32> = 1..=1000;
// Not a round number, so the sampling does not run in lockstep with periodic work.
const DEFAULT_FREQUENCY: i32 = 99;

/// Shared libraries whose frames are never unwound from the signal handler (matched as
/// substrings of the loaded object's path). pprof-rs suggests `"libc"`, but that also matches
/// `libcrypto`, which would silently drop every sample taken in TLS code.
const BLOCKLIST: &[&str] = &["libc.so", "libc.musl", "libgcc", "libpthread", "vdso"];

/// The router serving [`PATH`]; mount it only on the metrics listener or behind the admin token
/// (see the [module docs](self)).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(PATH, get(profile))
}

async fn profile(RawQuery(query): RawQuery) -> Response {
    let request = match ProfileRequest::parse(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(invalid) => return (StatusCode::BAD_REQUEST, invalid.to_string()).into_response(),
    };
    let Some(running) = Running::acquire() else {
        return already_running();
    };
    // Starting resolves a first backtrace, which reads the binary's debug info: blocking work.
    let session =
        match tokio::task::spawn_blocking(move || Session::start(request.frequency, running)).await
        {
            Ok(Ok(session)) => session,
            Ok(Err(pprof::Error::Running)) => return already_running(),
            Ok(Err(error)) => {
                return failed(format_args!("cannot start the CPU profiler: {error}"));
            }
            Err(_) => return failed("the CPU profiler panicked while starting"),
        };
    // A client that hangs up drops this future during the sleep, and with it the session: the
    // profile stops at once. The blocking steps own the session, so the flag is never released
    // while a profiler still runs.
    tokio::time::sleep(request.duration).await;
    match tokio::task::spawn_blocking(move || session.finish(request)).await {
        Ok(Ok(rendered)) => rendered.into_response(),
        Ok(Err(error)) => failed(format_args!("cannot build the CPU profile: {error}")),
        Err(_) => failed("the CPU profiler panicked while building the profile"),
    }
}

fn already_running() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        "a CPU profile is already running in this process; retry when it has finished\n",
    )
        .into_response()
}

fn failed(message: impl fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")).into_response()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Svg,
    Pprof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProfileRequest {
    duration: Duration,
    format: Format,
    frequency: i32,
}

/// A query parameter outside what the endpoint accepts; its `Display` is the 400 body.
#[derive(Debug, PartialEq, Eq)]
struct InvalidParameter {
    name: &'static str,
    value: String,
    accepted: &'static str,
}

impl fmt::Display for InvalidParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid query parameter {}={:?}: accepted {}",
            self.name, self.value, self.accepted
        )
    }
}

impl ProfileRequest {
    fn parse(query: &str) -> Result<Self, InvalidParameter> {
        let mut request = ProfileRequest {
            duration: Duration::from_secs(DEFAULT_SECONDS),
            format: Format::Svg,
            frequency: DEFAULT_FREQUENCY,
        };
        let (mut seen_seconds, mut seen_format, mut seen_frequency) = (false, false, false);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // The first occurrence wins, as in Go's `Request.FormValue`.
            match name {
                "seconds" if !seen_seconds => {
                    seen_seconds = true;
                    let seconds = bounded("seconds", value, &SECONDS, "whole seconds 1..=60")?;
                    request.duration = Duration::from_secs(seconds);
                }
                "format" if !seen_format => {
                    seen_format = true;
                    request.format = match value {
                        "svg" => Format::Svg,
                        "pprof" => Format::Pprof,
                        _ => return Err(invalid("format", value, "svg (default) or pprof")),
                    };
                }
                "frequency" if !seen_frequency => {
                    seen_frequency = true;
                    request.frequency =
                        bounded("frequency", value, &FREQUENCY, "whole Hz 1..=1000")?;
                }
                _ => {}
            }
        }
        Ok(request)
    }
}

fn bounded<T: std::str::FromStr + PartialOrd>(
    name: &'static str,
    value: &str,
    range: &RangeInclusive<T>,
    accepted: &'static str,
) -> Result<T, InvalidParameter> {
    match value.parse::<T>() {
        Ok(parsed) if range.contains(&parsed) => Ok(parsed),
        _ => Err(invalid(name, value, accepted)),
    }
}

fn invalid(name: &'static str, value: &str, accepted: &'static str) -> InvalidParameter {
    // The value is echoed back; a bound keeps an abusive query from inflating the answer.
    const ECHOED: usize = 64;
    let value = match value.char_indices().nth(ECHOED) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    };
    InvalidParameter {
        name,
        value,
        accepted,
    }
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Holds the process-wide "a profile is running" flag until dropped.
struct Running(());

impl Running {
    fn acquire() -> Option<Self> {
        RUNNING
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Running(()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// A running profile. Fields drop in declaration order: the timer and signal handler are gone
/// before the flag lets the next request start its own.
struct Session {
    profiler: ProfilerGuard<'static>,
    _running: Running,
}

impl Session {
    fn start(frequency: i32, running: Running) -> Result<Self, pprof::Error> {
        let profiler = ProfilerGuardBuilder::default()
            .frequency(frequency)
            .blocklist(BLOCKLIST)
            .build()?;
        Ok(Session {
            profiler,
            _running: running,
        })
    }

    fn finish(
        self,
        request: ProfileRequest,
    ) -> Result<Rendered, Box<dyn std::error::Error + Send + Sync>> {
        // Stopping the profiler discards its samples, so the report is built first; the signal
        // handler skips samples while the report holds the profiler's lock.
        let report = self
            .profiler
            .report()
            .frames_post_processor(drop_unwinder_frames)
            .build();
        drop(self);
        let report = report?;
        match request.format {
            Format::Svg => Ok(Rendered::Svg(flame_graph(&report, request)?)),
            Format::Pprof => {
                let encoded = report.pprof()?.encode_to_vec();
                let mut gzip =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gzip.write_all(&encoded)?;
                Ok(Rendered::Pprof(gzip.finish()?))
            }
        }
    }
}

/// pprof-rs removes its signal handler's frame from each sample, but where the unwinding code
/// it calls is not inlined into the handler (unoptimized builds) those frames stay on top of
/// every stack, as if the sampled code had called them. No sampled code runs pprof-rs, so the
/// innermost frame naming it marks where the profiler's own frames end.
fn drop_unwinder_frames(frames: &mut pprof::Frames) {
    // The unwinder is a handful of calls deep; a bound keeps demangling off whole stacks.
    const UNWINDER_DEPTH: usize = 8;
    let top = &frames.frames[..frames.frames.len().min(UNWINDER_DEPTH)];
    let own = top.iter().rposition(|frame| {
        frame.iter().any(|symbol| {
            let name = symbol.name();
            name.starts_with("pprof::") || name.starts_with("<pprof::")
        })
    });
    if let Some(own) = own {
        frames.frames.drain(..=own);
    }
}

fn flame_graph(report: &pprof::Report, request: ProfileRequest) -> Result<Vec<u8>, pprof::Error> {
    let title = format!(
        "CPU, {} s at {} Hz",
        request.duration.as_secs(),
        request.frequency
    );
    let mut svg = Vec::new();
    // inferno refuses an empty profile (pprof-rs then writes nothing): an idle process still
    // gets a valid image that says why it is blank.
    if report.data.is_empty() {
        write!(
            svg,
            r#"<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="800" height="60" xmlns="http://www.w3.org/2000/svg"><text x="10" y="24" font-family="Verdana" font-size="14">{title}: no samples (the process used no CPU outside blocklisted libraries)</text></svg>
"#
        )?;
        return Ok(svg);
    }
    let mut options = pprof::flamegraph::Options::default();
    options.title = title;
    report.flamegraph_with_options(&mut svg, &mut options)?;
    Ok(svg)
}

enum Rendered {
    Svg(Vec<u8>),
    Pprof(Vec<u8>),
}

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        match self {
            Rendered::Svg(svg) => ([(CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
            Rendered::Pprof(profile) => (
                [
                    (CONTENT_TYPE, "application/octet-stream"),
                    (CONTENT_DISPOSITION, r#"attachment; filename="cpu.pb.gz""#),
                ],
                profile,
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ProfileRequest, String> {
        ProfileRequest::parse(query).map_err(|invalid| invalid.to_string())
    }

    #[test]
    fn defaults_follow_go_pprof() {
        let request = parse("").unwrap();
        assert_eq!(request.duration, Duration::from_secs(30));
        assert_eq!(request.format, Format::Svg);
        assert_eq!(request.frequency, 99);
    }

    #[test]
    fn parameters_in_range_are_taken_and_others_ignored() {
        let request = parse("debug=1&seconds=60&format=pprof&frequency=1000&").unwrap();
        assert_eq!(request.duration, Duration::from_secs(60));
        assert_eq!(request.format, Format::Pprof);
        assert_eq!(request.frequency, 1000);
        assert_eq!(parse("seconds=1&seconds=99").unwrap().duration.as_secs(), 1);
        assert_eq!(parse("format=svg").unwrap().format, Format::Svg);
    }

    #[test]
    fn out_of_range_values_name_parameter_value_and_range() {
        for (query, name, value) in [
            ("seconds=0", "seconds", "0"),
            ("seconds=61", "seconds", "61"),
            ("seconds=2.5", "seconds", "2.5"),
            ("seconds=-1", "seconds", "-1"),
            ("seconds", "seconds", ""),
            ("format=bogus", "format", "bogus"),
            ("frequency=0", "frequency", "0"),
            ("frequency=1001", "frequency", "1001"),
            ("frequency=99999999999", "frequency", "99999999999"),
        ] {
            let message = parse(query).unwrap_err();
            assert!(
                message.contains(&format!("{name}=\"{value}\"")),
                "{query}: {message}"
            );
        }
        assert!(parse("seconds=0").unwrap_err().contains("1..=60"));
        assert!(parse("frequency=0").unwrap_err().contains("1..=1000"));
        assert!(
            parse("format=x")
                .unwrap_err()
                .contains("svg (default) or pprof")
        );
    }

    #[test]
    fn echoed_values_are_bounded() {
        let message = parse(&format!("format={}", "é".repeat(1000))).unwrap_err();
        assert!(message.len() < 300, "{message}");
        assert!(message.contains("..."), "{message}");
    }

    #[test]
    fn a_profile_without_samples_is_still_an_svg() {
        let empty = pprof::Report {
            data: Default::default(),
            timing: Default::default(),
        };
        let request = parse("seconds=2").unwrap();
        let svg = String::from_utf8(flame_graph(&empty, request).unwrap()).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("</svg>"), "{svg}");
        assert!(svg.contains("CPU, 2 s at 99 Hz: no samples"), "{svg}");
    }

    #[test]
    fn the_flag_admits_one_holder_at_a_time() {
        let first = Running::acquire().expect("no profile runs in unit tests");
        assert!(Running::acquire().is_none());
        drop(first);
        let again = Running::acquire();
        assert!(again.is_some());
    }
}
