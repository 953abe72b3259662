//! The expansion of `#[monitored]`.
//!
//! A call-site `static` holds the metric handles; a guard created on entry records the call
//! when it is dropped, so every exit (return, `?`, panic, a dropped future) is counted. The
//! return value is classified by its type in the runtime crate; the expansion only wires
//! these pieces together.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::visit_mut::{self, VisitMut};
use syn::{LitStr, ReturnType, Token, Type};

use crate::attr::{Classifier, Errors, MonitoredArgs};
use crate::item::MonitoredFn;

pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = MonitoredArgs::parse(args)
        .map_err(|err| errors.push(err))
        .ok();
    let func = syn::parse2::<MonitoredFn>(item.clone())
        .map_err(|err| errors.push(err))
        .ok();
    if let Some(func) = &func {
        func.validate(&mut errors);
    }
    match (errors.finish(), args, func) {
        (Ok(()), Some(args), Some(func)) if cfg!(feature = "enabled") => expand(&args, &func),
        (Ok(()), ..) => item,
        // Keep the user's item so that rustc and rust-analyzer still see it.
        (Err(err), ..) => {
            let error = err.to_compile_error();
            quote!(#item #error)
        }
    }
}

fn expand(args: &MonitoredArgs, func: &MonitoredFn) -> TokenStream {
    let MonitoredFn {
        attrs, vis, sig, ..
    } = func;
    let private = match &args.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::vk_monitor::__private),
    };
    let fn_name = LitStr::new(&sig.ident.unraw().to_string(), sig.ident.span());
    let name = args.name.as_ref().unwrap_or(&fn_name);
    let op = match &args.op {
        Some(op) => quote!(#op),
        None => quote!("function"),
    };
    // Methods are labelled `Type::method`; the type is known only where `Self` is.
    let enter = if args.name.is_none() && sig.receiver().is_some() {
        quote!(__VK_SITE.enter_method::<Self>())
    } else {
        quote!(__VK_SITE.enter())
    };
    let site = quote! {
        static __VK_SITE: #private::CallSite =
            #private::CallSite::new(#name, ::core::module_path!(), #op);
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
        __vk_guard.finish(#outcome);
        __vk_out
    };
    let ret = nameable_return_type(&sig.output);

    let body = if let Some((stmts, mut call)) = func.async_trait_body() {
        // `#[async_trait]` already turned the method into `Box::pin(async move { .. })`:
        // instrument that future, which is what the caller awaits.
        let inner = call.args.pop().map(|pair| pair.into_value());
        call.args.push(syn::parse_quote! {
            async move {
                let __vk_guard = #enter;
                let __vk_out = #inner.await;
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
            let typed = ret.map(|ret| {
                quote! {
                    #[allow(unreachable_code)]
                    if let ::core::option::Option::Some(__vk_ret) = ::core::option::Option::None::<#ret> {
                        return __vk_ret;
                    }
                }
            });
            quote! {
                let __vk_guard = #enter;
                let __vk_out = async move { #typed #user_body }.await;
                #record
            }
        } else if func.has_attr("track_caller") {
            // A closure would hide the caller's location from the body, so the body runs
            // inline; only its final value can be classified here.
            let annotation = ret.map(|ret| quote!(: #ret));
            quote! {
                let mut __vk_guard = #enter;
                __vk_guard.count_early_exit_as_ok();
                let __vk_out #annotation = #block;
                #record
            }
        } else {
            // The closure turns every `return` and `?` of the body into a value we can classify.
            let arrow = ret.map(|ret| quote!(-> #ret));
            quote! {
                let __vk_guard = #enter;
                #[allow(clippy::redundant_closure_call)]
                let __vk_out = (move || #arrow #block)();
                #record
            }
        }
    };

    quote! {
        #(#attrs)*
        #vis #sig {
            #site
            #body
        }
    }
}

fn path_span(path: &syn::Path) -> Span {
    path.segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// The declared return type as a closure, `let` or turbofish may write it: `impl Trait`, which
/// only a signature may name, becomes `_`, so that the rest (say the error type of
/// `Result<impl Display, MyError>`) is still known before the value is classified.
fn nameable_return_type(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    struct InferImpl;
    impl VisitMut for InferImpl {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: Token![_](impl_trait.impl_token.span),
                });
            } else {
                visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = (**ty).clone();
    InferImpl.visit_type_mut(&mut ty);
    Some(ty)
}
