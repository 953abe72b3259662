//! The expansion of `#[monitored]`, written only for valid arguments and signature.
//!
//! A call-site `static` holds the metric handles; a guard created on entry records the call
//! when it is dropped, so every exit (return, `?`, panic, a dropped future) is counted. The
//! return value is classified by its type in the runtime crate; the expansion only wires
//! these pieces together, and the guard's recording functions are not generic over what it
//! passes them (the closure of a sync body is called here, not passed to the runtime). With
//! the `tracing` feature the call also runs in a `tracing` span: only its callsite statics are
//! written here, where the function is, and the runtime makes the span.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::visit_mut::{self, VisitMut};
use syn::{LitStr, ReturnType, Token, Type};

use super::docs::promql_docs;
use super::parse::{Classifier, MonitoredArgs};
use crate::args::private_path;
use crate::item::AnnotatedFn;

pub fn expand(args: &MonitoredArgs, func: &AnnotatedFn) -> TokenStream {
    let AnnotatedFn {
        attrs, vis, sig, ..
    } = func;
    let private = private_path(args.krate.as_ref());
    let fn_name = LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span());
    let name = args.name.as_ref().unwrap_or(&fn_name);
    let op = match &args.op {
        Some(op) => quote!(#op),
        None => quote!("function"),
    };
    // Methods are labelled `Type::method`; the type is known only where `Self` is.
    let start = if args.name.is_none() && sig.receiver().is_some() {
        quote!(__VK_SITE.start_method_call::<Self>())
    } else {
        quote!(__VK_SITE.start_call())
    };
    let tags = args.tags.iter().flatten().map(|(key, value)| {
        let key = key.unraw().to_string();
        quote!((#key, #value))
    });
    // Spanned on the user's path: a value that is not an `Objective` is reported there.
    let objective = args
        .objective
        .as_ref()
        .map(|path| quote_spanned!(path_span(path)=> .with_objective(&#path)));
    let site = quote! {
        static __VK_SITE: #private::CallSite =
            #private::CallSite::new(#name, ::core::module_path!(), #op, &[#(#tags),*])#objective;
    };
    let outcome = match &args.classifier {
        None => quote!(#private::outcome_of!(&__vk_out)),
        Some(Classifier::OkIf(path)) => {
            quote_spanned!(path_span(path)=> #private::Outcome::ok_if((#path)(&__vk_out)))
        }
        Some(Classifier::ErrorIf(path)) => {
            quote_spanned!(path_span(path)=> #private::Outcome::error_if((#path)(&__vk_out)))
        }
    };
    let record = quote! {
        #[allow(clippy::used_underscore_binding)]
        __vk_guard.finish(#outcome, &|| #private::error_event_of!(&__vk_out));
        __vk_out
    };
    let ret = nameable_return_type(&sig.output);
    let (trace_site, span) = tracing_span(&private, name, &op);
    // Async bodies are polled inside the span, sync ones run with it entered.
    let in_span = |future: TokenStream| -> TokenStream {
        if cfg!(feature = "tracing") {
            quote!(#private::tracing::Instrument::instrument(__vk_guard.instrument(#future), __vk_span))
        } else {
            quote!(__vk_guard.instrument(#future))
        }
    };
    let enter_span = if cfg!(feature = "tracing") {
        quote!(let __vk_span_entered = __vk_span.enter();)
    } else {
        quote!()
    };

    let body = if let Some((stmts, mut call)) = func.async_trait_body() {
        // `#[async_trait]` already turned the method into `Box::pin(async move { .. })`:
        // instrument that future, which is what the caller awaits.
        let inner = call.args.pop();
        let polled = in_span(quote!(#inner));
        call.args.push(syn::parse_quote! {
            async move {
                let __vk_guard = #start;
                #span
                let __vk_out = #polled.await;
                #record
            }
        });
        quote!(#(#stmts)* #call)
    } else {
        let user_body = &func.body;
        let block = quote_spanned!(func.body_span()=> { #user_body });
        if sig.asyncness.is_some() {
            // Fix the block's output type before its body is checked, so `?` conversions and
            // coercions in the body see the declared return type, as they would without us.
            let typed = quote! {
                #[allow(unreachable_code)]
                if let ::core::option::Option::Some(__vk_ret) = ::core::option::Option::None::<#ret> {
                    return __vk_ret;
                }
            };
            let polled = in_span(quote!(async move { #typed #user_body }));
            quote! {
                let __vk_guard = #start;
                #span
                let __vk_out = #polled.await;
                #record
            }
        } else if func.has_attr("track_caller") {
            // A closure would hide the caller's location from the body, so the body runs
            // inline; only its final value can be classified here.
            quote! {
                let mut __vk_guard = #start;
                __vk_guard.count_early_exit_as_ok();
                #span
                #enter_span
                let __vk_entered = __vk_guard.enter();
                let __vk_out: #ret = #block;
                ::core::mem::drop(__vk_entered);
                #record
            }
        } else {
            // The closure turns every `return` and `?` of the body into a value we can classify.
            // Called where it is written, rather than passed to the runtime, so that no generic
            // runtime function is instantiated for it.
            quote! {
                let __vk_guard = #start;
                #span
                #[allow(clippy::redundant_closure_call)]
                let __vk_out = {
                    #enter_span
                    let __vk_entered = __vk_guard.enter();
                    (move || -> #ret #block)()
                };
                #record
            }
        }
    };

    let docs = promql_docs(
        name,
        args.name.is_none() && sig.receiver().is_some(),
        args.objective.as_ref(),
    );
    quote! {
        #(#attrs)*
        #docs
        #vis #sig {
            #site
            #trace_site
            #body
        }
    }
}

/// Instrumentation off: the function as written, but for a use of its objective in the body,
/// so that a `const` only the attribute names is not dead code, and a path that names no
/// value is still an error where it is written.
pub fn unchanged_but_for(func: &AnnotatedFn, objective: &syn::Path) -> TokenStream {
    let AnnotatedFn {
        attrs,
        vis,
        sig,
        body,
        ..
    } = func;
    let used = quote_spanned!(path_span(objective)=> let _ = &#objective;);
    quote! {
        #(#attrs)*
        #vis #sig {
            #used
            #body
        }
    }
}

/// The call's `tracing` span, at `INFO` like `#[tracing::instrument]`: named after the function,
/// with the label the metrics use (`Type::method` for methods), the module and the op. When no
/// subscriber wants it, creating it is a load and a branch.
///
/// Returns the two statics of its callsite, which `tracing` needs where the function is, and
/// the statement that makes the span; the rest of what `tracing::span!` would write here is in
/// the runtime's `call_span`, compiled once.
fn tracing_span(
    private: &TokenStream,
    name: &LitStr,
    op: &TokenStream,
) -> (TokenStream, TokenStream) {
    if !cfg!(feature = "tracing") {
        return (quote!(), quote!());
    }
    let statics = quote! {
        static __VK_TRACE: #private::DefaultCallsite = #private::DefaultCallsite::new(&__VK_TRACE_META);
        static __VK_TRACE_META: #private::Metadata<'static> = #private::span_metadata(
            #name, ::core::file!(), ::core::line!(), ::core::module_path!(), &__VK_TRACE,
        );
    };
    let span = quote! {
        let __vk_span = #private::call_span(&__VK_TRACE, __vk_guard.function(), #op);
    };
    (statics, span)
}

fn path_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// The declared return type as a closure, `let` or turbofish may write it: `impl Trait`, which
/// only a signature may name, becomes `_`, so that the rest (say the error type of
/// `Result<impl Display, MyError>`) is still known before the value is classified.
///
/// A fn without one returns `()`, said explicitly: a body that diverges (`panic!()`) would
/// otherwise give the closure the never type.
fn nameable_return_type(output: &ReturnType) -> Type {
    let ReturnType::Type(_, ty) = output else {
        return syn::parse_quote!(());
    };
    struct InferImpl;
    impl VisitMut for InferImpl {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                let underscore = Token![_](impl_trait.impl_token.span);
                *ty = syn::parse_quote!(#underscore);
            } else {
                visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = (**ty).clone();
    InferImpl.visit_type_mut(&mut ty);
    ty
}
