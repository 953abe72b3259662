//! `#[monitored]`: parses the arguments and the function, validates the signature, and expands
//! only when all of it is valid. Otherwise the user's item comes back unchanged with every error;
//! so does a valid one when instrumentation is off (but for a use of its objective).

mod docs;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::args::{Errors, ParseArgs};
use crate::item::{self, AnnotatedFn};
use parse::MonitoredArgs;

/// `enabled`: whether instrumentation is on (the `enabled` feature); off, a valid item is
/// returned unchanged.
pub fn monitored(args: TokenStream, item: TokenStream, enabled: bool) -> TokenStream {
    let mut errors = Errors::default();
    let args = errors.ok(MonitoredArgs::parse(args));
    let func = errors.ok(AnnotatedFn::parse(item.clone(), "monitored"));
    if let Some(func) = &func {
        validate::validate(func, &mut errors);
    }
    match (errors.finish(), args, func) {
        (Ok(()), Some(args), Some(func)) if enabled => expand::expand(&args, &func),
        (Ok(()), Some(args), Some(func)) => match &args.objective {
            Some(objective) => expand::unchanged_but_for(&func, objective),
            None => item,
        },
        (Ok(()), ..) => item,
        (Err(error), ..) => item::with_errors(item, &error),
    }
}

#[cfg(test)]
mod tests;
