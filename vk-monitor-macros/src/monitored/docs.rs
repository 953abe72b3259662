//! The rustdoc section `#[monitored]` adds to its function: the PromQL of its call rate, error
//! ratio and p99 latency, and with an objective the burn rate of that objective's budget by
//! its calls, ready to paste into Prometheus. The module path is known only where the function
//! is, so the text is a `concat!` around `module_path!()`; it is written under `cfg(doc)`
//! only, so that a build pays nothing for it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitStr, Path};

/// A piece of the doc text: literal text, or the module path.
enum Piece {
    Text(String),
    Module,
}

/// The `#[cfg_attr(doc, doc = ..)]` attributes. `method`: the label is `Type::name`, whose
/// type the expansion does not know, so the selector matches any type.
pub fn promql_docs(name: &LitStr, method: bool, objective: Option<&Path>) -> TokenStream {
    let name = name.value();
    let function = if method {
        format!("function=~\".+::{name}\"")
    } else {
        format!("function=\"{name}\"")
    };
    let selector = |extra: &str| -> Vec<Piece> {
        vec![
            Piece::Text(format!("{{{function}, module=\"")),
            Piece::Module,
            Piece::Text(format!("\"{extra}}}")),
        ]
    };
    let mut lines: Vec<Vec<Piece>> = vec![
        vec![Piece::Text("# Monitoring".into())],
        vec![],
        vec![Piece::Text(
            "Recorded by `#[monitored]`; in Prometheus (the `rate` window is yours to choose):"
                .into(),
        )],
        vec![],
        vec![Piece::Text("```promql".into())],
        vec![Piece::Text("# calls per second".into())],
    ];
    let line = |before: &str, extra: &str, after: &str| {
        let mut pieces = vec![Piece::Text(before.into())];
        pieces.extend(selector(extra));
        pieces.push(Piece::Text(after.into()));
        pieces
    };
    lines.push(line("sum(rate(function_calls_total", "", "[5m]))"));
    lines.push(vec![Piece::Text("# share of calls that failed".into())]);
    lines.push(line(
        "  sum(rate(function_calls_total",
        ", result=~\"error|panic\"",
        "[5m]))",
    ));
    lines.push(line(
        "/ sum(rate(function_calls_total",
        ", result!=\"cancelled\"",
        "[5m]))",
    ));
    lines.push(vec![Piece::Text("# p99 latency, seconds".into())]);
    lines.push(line(
        "histogram_quantile(0.99, sum by (le) (rate(function_call_duration_seconds_bucket",
        "",
        "[5m])))",
    ));
    if let Some(objective) = objective {
        let path = quote!(#objective).to_string().replace(' ', "");
        lines.push(vec![Piece::Text(format!(
            "# burn rate of the error budget of {path} by these calls over 1h (1: it lasts 30 days)"
        ))]);
        let by = "sum by (objective_name, objective_percentile)";
        lines.push(line(
            &format!("  {by} (rate(function_calls_total"),
            ", result=~\"error|panic\"",
            "[1h]))",
        ));
        lines.push(line(
            &format!("/ {by} (rate(function_calls_total"),
            ", result!=\"cancelled\"",
            "[1h]))",
        ));
        lines.push(vec![Piece::Text(
            "/ on (objective_name, objective_percentile) group_left ()".into(),
        )]);
        lines.push(vec![Piece::Text(
            "  (1 - max by (objective_name, objective_percentile) (objective_target_ratio{objective_latency_threshold=\"\"}))".into(),
        )]);
    }
    lines.push(vec![Piece::Text("```".into())]);
    let attrs = lines.into_iter().map(|pieces| {
        // A doc line starts with a space, as `///` writes it.
        let parts =
            std::iter::once(quote!(" ")).chain(pieces.into_iter().map(|piece| match piece {
                Piece::Text(text) => quote!(#text),
                Piece::Module => quote!(::core::module_path!()),
            }));
        quote!(#[cfg_attr(doc, doc = ::core::concat!(#(#parts),*))])
    });
    quote!(#[cfg_attr(doc, doc = "")] #(#attrs)*)
}
