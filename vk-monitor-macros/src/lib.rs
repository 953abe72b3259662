//! Macros of [vk-monitor](https://docs.rs/vk-monitor): the attributes `#[monitored]` and
//! `#[health_check]`, and `#[derive(MonitoredError)]`.
//!
//! Use them through the `vk-monitor` crate, which re-exports them and provides the runtime
//! their expansions call; its documentation describes every argument, with examples.
//!
//! Each macro has its own module, split the same way: `parse` types and checks the arguments,
//! `validate` checks what the signature rules out, and `expand` writes a small expansion that
//! delegates all logic to `vk_monitor::__private`; the module itself runs them in turn. The
//! derive (`monitored_error`) has only `parse` and `expand`: its attributes are all it checks,
//! and its impl calls nothing but the trait. What
//! both share lives beside them: `args` splits arguments and collects errors, `item` parses the
//! annotated function leniently (signature plus an unparsed body).

#![warn(missing_docs)]

mod args;
mod health_check;
mod item;
mod monitored;
mod monitored_error;

use proc_macro::TokenStream;

// The reference documentation of both attributes is on their re-exports in `vk_monitor`, where
// its examples run as doc tests (they need the runtime, which this crate cannot depend on).
// Rustdoc appends an inlined item's own docs to its re-export's, so the short docs below are
// written only when this crate itself is documented.
#[cfg_attr(
    doc,
    doc = "Records Prometheus RED metrics, and with Sentry a span and error events, for every \
           call of the annotated function.\n\n\
           Use it as [`vk_monitor::monitored`](https://docs.rs/vk-monitor/latest/vk_monitor/attr.monitored.html), \
           documented there with its arguments and examples."
)]
#[cfg_attr(not(doc), allow(missing_docs))]
#[proc_macro_attribute]
pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    monitored::monitored(args.into(), item.into(), cfg!(feature = "enabled")).into()
}

#[cfg_attr(
    doc,
    doc = "Registers the annotated function as a health check, served by `/health`, `/ready` \
           or `/startup`.\n\n\
           Use it as [`vk_monitor::health_check`](https://docs.rs/vk-monitor/latest/vk_monitor/attr.health_check.html), \
           documented there with its arguments and examples."
)]
#[cfg_attr(not(doc), allow(missing_docs))]
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    health_check::health_check(args.into(), item.into()).into()
}

#[cfg_attr(
    doc,
    doc = "Implements `MonitoredError` from `#[monitored(ok)]`, `#[monitored(kind = \"...\")]` \
           and `#[monitored(status = 404)]` on the type and its variants.\n\n\
           Use it as [`vk_monitor::MonitoredError`](https://docs.rs/vk-monitor/latest/vk_monitor/derive.MonitoredError.html), \
           documented there with an example."
)]
#[cfg_attr(not(doc), allow(missing_docs))]
#[proc_macro_derive(MonitoredError, attributes(monitored))]
pub fn derive_monitored_error(input: TokenStream) -> TokenStream {
    monitored_error::derive(input.into()).into()
}
