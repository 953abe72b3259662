//! Drives a realistic mix of requests against the voice-call server, so dashboards and alerts
//! have something to show: calls created, listed, read, transcribed and ended, plus clients'
//! mistakes (unknown calls, unknown paths).
//!
//! `cargo run --example traffic` while `cargo run --example server` runs. Environment:
//! `TARGET` (default `http://127.0.0.1:3000`), `REQUESTS` (default 2000), `CONCURRENCY`
//! (default 8). It stops after `REQUESTS` requests and prints what it sent and got back.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Counts by (action, status), as the client saw them.
type Tally = BTreeMap<(&'static str, u16), u64>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => value
            .parse()
            .map_err(|_| format!("{name}={value:?} is not a valid number")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let target = target.trim_end_matches('/').to_owned();
    let requests: u64 = env_or("REQUESTS", 2000)?;
    let concurrency: u64 = env_or("CONCURRENCY", 8)?.max(1);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let ids = Arc::new(Mutex::new(Vec::<i64>::new()));

    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let share = requests / concurrency + u64::from(worker < requests % concurrency);
            let (client, ids, target) = (client.clone(), Arc::clone(&ids), target.clone());
            tokio::spawn(async move {
                let mut tally = Tally::new();
                for _ in 0..share {
                    let (action, status) = one_request(&client, &target, &ids).await;
                    *tally.entry((action, status)).or_default() += 1;
                }
                tally
            })
        })
        .collect();

    let mut total = Tally::new();
    for worker in workers {
        for (key, count) in worker.await? {
            *total.entry(key).or_default() += count;
        }
    }
    println!("sent {requests} requests to {target}:");
    for ((action, status), count) in &total {
        let status = if *status == 0 {
            "failed".to_owned()
        } else {
            status.to_string()
        };
        println!("  {action:<12} {status:>6}  {count}");
    }
    Ok(())
}

/// Sends one request of the mix; returns its action and status (0: no response).
async fn one_request(
    client: &HttpClient,
    target: &str,
    ids: &Mutex<Vec<i64>>,
) -> (&'static str, u16) {
    let known = {
        let ids = ids.lock().unwrap_or_else(|e| e.into_inner());
        (!ids.is_empty()).then(|| ids[fastrand::usize(..ids.len())])
    };
    let roll = fastrand::u8(0..100);
    let (action, method, path, body) = match (roll, known) {
        (0..20, _) | (_, None) => {
            let body = format!(
                r#"{{"caller":"+4420{:07}","callee":"support"}}"#,
                fastrand::u32(..10_000_000)
            );
            ("create", Method::POST, "/calls".to_owned(), body)
        }
        (20..30, _) => ("list", Method::GET, "/calls".to_owned(), String::new()),
        (30..60, Some(id)) => ("get", Method::GET, format!("/calls/{id}"), String::new()),
        (60..65, _) => (
            "get_missing",
            Method::GET,
            format!("/calls/{}", 1_000_000 + roll as u32),
            String::new(),
        ),
        (65..85, Some(id)) => (
            "transcript",
            Method::GET,
            format!("/calls/{id}/transcript"),
            String::new(),
        ),
        (85..95, Some(id)) => {
            let outcome = ["completed", "completed", "completed", "failed", "abandoned"]
                [fastrand::usize(..5)];
            (
                "end",
                Method::POST,
                format!("/calls/{id}/end"),
                format!(r#"{{"outcome":"{outcome}"}}"#),
            )
        }
        _ => (
            "unknown_path",
            Method::GET,
            ["/admin", "/wp-login.php", "/.env"][fastrand::usize(..3)].to_owned(),
            String::new(),
        ),
    };
    let request = Request::builder()
        .method(method)
        .uri(format!("{target}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a well-formed request");
    let Ok(response) = client.request(request).await else {
        return (action, 0);
    };
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let created = (action == "create" && status == 201)
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|call| call["id"].as_i64());
    if let Some(id) = created {
        ids.lock().unwrap_or_else(|e| e.into_inner()).push(id);
    }
    (action, status)
}
