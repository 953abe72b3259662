//! The derived impl: one `match` per method, an arm per variant, every kind a literal.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Generics, Ident, Path};

use super::parse::Verdict;

/// `arms`: each variant (`None` for a struct) with what it counts as.
pub fn expand(
    ident: &Ident,
    generics: &Generics,
    krate: Option<&Path>,
    arms: &[(Option<&Ident>, Verdict)],
) -> TokenStream {
    let krate = match krate {
        Some(path) => quote!(#path),
        None => quote!(::vk_monitor),
    };
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let path = |variant: Option<&Ident>| match variant {
        Some(variant) => quote!(Self::#variant),
        None => quote!(Self),
    };
    let arm = |variant: Option<&Ident>, verdict: &Verdict, method: TokenStream| {
        let path = path(variant);
        let value = match verdict {
            Verdict::Transparent(member) => {
                return quote!(#path { #member: ref inner, .. } => #krate::MonitoredError::#method(inner),);
            }
            Verdict::Ok if method.to_string() == "is_error" => quote!(false),
            Verdict::Error(_) if method.to_string() == "is_error" => quote!(true),
            Verdict::Error(kind) if !kind.is_empty() => quote!(#kind),
            _ => quote!("error"),
        };
        quote!(#path { .. } => #value,)
    };
    let is_error = arms
        .iter()
        .map(|(variant, verdict)| arm(*variant, verdict, quote!(is_error)));
    let kinds = arms
        .iter()
        .map(|(variant, verdict)| arm(*variant, verdict, quote!(error_kind)));
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::MonitoredError for #ident #type_generics #where_clause {
            fn is_error(&self) -> bool {
                match *self { #(#is_error)* }
            }
            fn error_kind(&self) -> &'static str {
                match *self { #(#kinds)* }
            }
        }
    }
}
