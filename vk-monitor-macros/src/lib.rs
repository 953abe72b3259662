//! Attribute macros of `vk-monitor`. Use them through the `vk-monitor` crate, which re-exports
//! them and provides the runtime they expand to.
//!
//! Each macro is split the same way: `attr` parses and validates the arguments, `item` parses
//! the annotated function leniently (signature plus an unparsed body), and `expand` writes a
//! small expansion that delegates all logic to `vk_monitor::__private`.

mod attr;
mod expand;
mod health;
mod item;

use proc_macro::TokenStream;

/// Records RED metrics for every call of the annotated function.
///
/// See the `vk-monitor` crate documentation for the metrics, the arguments and examples.
#[proc_macro_attribute]
pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::monitored(args.into(), item.into(), cfg!(feature = "enabled")).into()
}

/// Registers the annotated fn as a health check, served by `/health`, `/ready` or `/startup`.
///
/// See the `vk-monitor` crate's `health` module for the arguments and examples.
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    health::health_check(args.into(), item.into()).into()
}
