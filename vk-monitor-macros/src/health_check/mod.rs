//! `#[health_check]`: parses the arguments and the function, validates the signature, and
//! registers the function only when all of it is valid. Otherwise the user's item comes back
//! unchanged with every error. It expands whatever the `enabled` feature says: that feature turns
//! off instrumentation, not health checks.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::args::{Errors, ParseArgs};
use crate::item::{self, AnnotatedFn};
use parse::HealthArgs;

pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = errors.ok(HealthArgs::parse(args));
    let func = errors.ok(AnnotatedFn::parse(item.clone(), "health_check"));
    if let Some(func) = &func {
        validate::validate(func, &mut errors);
    }
    match (errors.finish(), args, func) {
        (Ok(()), Some(args), Some(func)) => expand::expand(&args, &func, item),
        (Ok(()), ..) => item,
        (Err(error), ..) => item::with_errors(item, &error),
    }
}
