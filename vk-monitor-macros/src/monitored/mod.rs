//! `#[monitored]`: parses the arguments and the function, validates the signature, and expands
//! only when all of it is valid. Otherwise the user's item comes back unchanged with every error;
//! so does a valid one when instrumentation is off.

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
        (Ok(()), ..) => item,
        (Err(error), ..) => item::with_errors(item, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::monitored;
    use quote::quote;

    #[test]
    fn disabled_emits_the_item_unchanged() {
        let item = quote! {
            /// Docs.
            #[inline]
            pub async fn load(id: u32) -> Result<u32, String> { Ok(id) }
        };
        let out = monitored(quote!(name = "load_call"), item.clone(), false);
        assert_eq!(out.to_string(), item.to_string());
    }

    #[test]
    fn disabled_still_validates_the_arguments() {
        let item = quote!(
            fn load() {}
        );
        let out = monitored(quote!(nmae = "x"), item.clone(), false).to_string();
        assert!(
            out.starts_with(&item.to_string()),
            "the item is kept: {out}"
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown argument `nmae`"), "{out}");
    }

    #[test]
    fn enabled_instruments_through_the_runtime() {
        let out = monitored(
            quote!(),
            quote!(
                fn load() {}
            ),
            true,
        )
        .to_string();
        assert!(out.contains("__VK_SITE"), "{out}");
        assert!(
            out.contains(":: vk_monitor :: __private :: CallSite :: new"),
            "{out}"
        );
    }
}
