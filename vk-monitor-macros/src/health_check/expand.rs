//! The expansion of `#[health_check]`, written only for valid arguments and signature: the
//! function unchanged, and its registration with the runtime's health registry at link time
//! (where a name used twice is found: the registry compares names exactly, as `/ready` shows them).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{LitInt, LitStr, ReturnType};

use super::parse::{HealthArgs, Kind};
use crate::args::private_path;
use crate::item::AnnotatedFn;

pub fn expand(args: &HealthArgs, func: &AnnotatedFn, item: TokenStream) -> TokenStream {
    let sig = &func.sig;
    let ident = &sig.ident;
    let private = private_path(args.krate.as_ref());
    let default_name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let name = args.name.as_ref().unwrap_or(&default_name);
    // Only what the user gave is set: the defaults are the runtime's.
    let kind = args.kind.map(|kind| {
        let kind = match kind {
            Kind::Liveness => quote!(Liveness),
            Kind::Readiness => quote!(Readiness),
            Kind::Startup => quote!(Startup),
        };
        quote!(.kind(#private::CheckKind::#kind))
    });
    let timeout = args.timeout_ms.map(|(millis, span)| {
        let millis = LitInt::new(&millis.to_string(), span);
        quote!(.timeout(::core::time::Duration::from_millis(#millis)))
    });
    let critical = args
        .critical
        .as_ref()
        .map(|critical| quote!(.critical(#critical)));
    let ReturnType::Type(_, ret) = &sig.output else {
        return item;
    };
    // Spanned on the return type, so an unsupported one is reported there.
    let run = if sig.asyncness.is_some() {
        quote_spanned!(ret.span()=> || #private::run_async(#ident()))
    } else {
        quote_spanned!(ret.span()=> || #private::run_blocking(#ident))
    };
    quote! {
        #item
        #private::inventory::submit! {
            #private::AnnotatedCheck::new(
                #name,
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                #run,
            ) #kind #timeout #critical
        }
    }
}
