//! `#[derive(MonitoredError)]`: how `#[monitored]` counts an error type, declared per variant
//! with `#[monitored(ok)]`, `#[monitored(kind = "...")]` or `#[monitored(status = 404)]`.
//! `parse` reads and checks the attributes; `expand` writes the two-method impl. Any error
//! means no impl, with every error reported at once.

mod expand;
mod parse;

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

use crate::args::Errors;
use parse::{Classification, Verdict};

pub fn derive(input: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(input) {
        Ok(item) => item,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Errors::default();
    let (attrs, ident, generics, variants, fields) = match &item {
        syn::Item::Enum(item) => (
            &item.attrs,
            &item.ident,
            &item.generics,
            Some(&item.variants),
            None,
        ),
        syn::Item::Struct(item) => (
            &item.attrs,
            &item.ident,
            &item.generics,
            None,
            Some(&item.fields),
        ),
        syn::Item::Union(item) => {
            return syn::Error::new(
                item.union_token.span(),
                "`MonitoredError` cannot be derived for a union: which field is set is not \
                 known; derive it for an enum or a struct, or implement the trait by hand",
            )
            .to_compile_error();
        }
        other => {
            return syn::Error::new(
                other.span(),
                "`MonitoredError` derives on an enum or a struct",
            )
            .to_compile_error();
        }
    };
    let container = errors
        .ok(Classification::of(attrs, true, fields))
        .unwrap_or_default();
    let default = container.verdict.clone().unwrap_or(Verdict::ERROR);
    let arms: Vec<(Option<&syn::Ident>, Verdict)> = match variants {
        None => vec![(None, default)],
        Some(variants) => variants
            .iter()
            .map(|variant| {
                let own = errors
                    .ok(Classification::of(
                        &variant.attrs,
                        false,
                        Some(&variant.fields),
                    ))
                    .unwrap_or_default();
                (
                    Some(&variant.ident),
                    own.verdict.unwrap_or_else(|| default.clone()),
                )
            })
            .collect(),
    };
    if let Err(error) = errors.finish() {
        return error.to_compile_error();
    }
    expand::expand(ident, generics, container.krate.as_ref(), &arms)
}
