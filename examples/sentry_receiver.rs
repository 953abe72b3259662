//! A Sentry ingestion endpoint on loopback that prints what it receives, one line per
//! transaction, span and event, so the example's traces can be read without a Sentry account:
//!
//! ```text
//! cargo run --example sentry_receiver                  # listens on 127.0.0.1:9000
//! SENTRY_DSN=http://public@127.0.0.1:9000/1 SENTRY_TRACES_SAMPLE_RATE=1 cargo run --example server
//! cargo run --example traffic
//! ```
//!
//! Each transaction line names its trace, span and parent span, so a trace that crosses the
//! server and its speech service reads as two transactions with one `trace=`, the speech
//! service's `parent=` being the id of the server's `http.client` span. `LISTEN_ADDR` changes
//! the address. Every envelope is answered 200; nothing is stored.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use sentry::protocol::{Context, EnvelopeItem, Event, Span, Transaction};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr: SocketAddr = match std::env::var("LISTEN_ADDR") {
        Ok(value) => value.parse().unwrap_or_else(|_| {
            eprintln!("LISTEN_ADDR={value:?} is not a socket address such as 127.0.0.1:9000");
            std::process::exit(2);
        }),
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 9000)),
    };
    let app = Router::new().route("/api/{project}/envelope/", post(receive));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    };
    println!(
        "sentry receiver listening on {addr}: SENTRY_DSN=http://public@{addr}/1",
        addr = listener.local_addr().unwrap_or(addr)
    );
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("server error: {error}");
    }
}

async fn receive(body: Bytes) -> &'static str {
    let text = describe_envelope(&body);
    // One write per envelope, so the lines of two envelopes never interleave.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    "{}"
}

/// The lines printed for one envelope.
fn describe_envelope(body: &[u8]) -> String {
    let mut out = String::new();
    let envelope = match sentry::Envelope::from_slice(body) {
        Ok(envelope) => envelope,
        Err(error) => {
            let _ = writeln!(out, "unreadable envelope ({} bytes): {error}", body.len());
            return out;
        }
    };
    for item in envelope.items() {
        match item {
            EnvelopeItem::Transaction(transaction) => describe_transaction(&mut out, transaction),
            EnvelopeItem::Event(event) => describe_event(&mut out, event),
            _ => {}
        }
    }
    // The envelope header's `trace`: the dynamic sampling context Sentry samples by.
    let header_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    if let Ok(header) = serde_json::from_slice::<serde_json::Value>(header_line)
        && let Some(dsc) = header.get("trace")
    {
        let _ = writeln!(out, "  dsc {dsc}");
    }
    out
}

fn describe_transaction(out: &mut String, transaction: &Transaction<'_>) {
    let (trace, span, parent, op, status) = match transaction.contexts.get("trace") {
        Some(Context::Trace(trace)) => (
            trace.trace_id.to_string(),
            trace.span_id.to_string(),
            trace.parent_span_id.map(|id| id.to_string()),
            trace.op.clone().unwrap_or_default(),
            trace.status.map(|s| s.to_string()).unwrap_or_default(),
        ),
        _ => Default::default(),
    };
    let _ = writeln!(
        out,
        "transaction trace={trace} span={span} parent={} op={op} status={status} name={:?} release={}",
        parent.as_deref().unwrap_or("-"),
        transaction.name.as_deref().unwrap_or(""),
        transaction.release.as_deref().unwrap_or("-"),
    );
    for child in &transaction.spans {
        describe_span(out, child);
    }
}

fn describe_span(out: &mut String, span: &Span) {
    let _ = writeln!(
        out,
        "  span span={} parent={} op={} status={} {:?}",
        span.span_id,
        span.parent_span_id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into()),
        span.op.as_deref().unwrap_or(""),
        span.status.map(|s| s.to_string()).unwrap_or_default(),
        span.description.as_deref().unwrap_or(""),
    );
}

fn describe_event(out: &mut String, event: &Event<'_>) {
    let trace = match event.contexts.get("trace") {
        Some(Context::Trace(trace)) => trace.trace_id.to_string(),
        _ => "-".into(),
    };
    let message = event
        .exception
        .values
        .last()
        .map(|exception| {
            let value = exception.value.as_deref().unwrap_or("");
            format!("{}: {value}", exception.ty)
        })
        .or_else(|| event.message.clone())
        .or_else(|| event.logentry.as_ref().map(|entry| entry.message.clone()))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "event trace={trace} level={} release={} transaction={:?} {message:?}",
        event.level,
        event.release.as_deref().unwrap_or("-"),
        event.transaction.as_deref().unwrap_or(""),
    );
}
