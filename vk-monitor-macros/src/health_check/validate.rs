//! What the signature rules out for `#[health_check]`: the registry calls the fn at run time,
//! with no arguments and no type parameters, and needs a result to report. Every problem is
//! reported, each spanned on the offending part of the signature.

use syn::spanned::Spanned;
use syn::{FnArg, ReturnType};

use crate::args::Errors;
use crate::item::AnnotatedFn;

pub fn validate(func: &AnnotatedFn, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.push_at(
            constness.span,
            "#[health_check] cannot be a `const fn`: checks run at run time",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.push_at(abi.span(), "#[health_check] cannot be an `extern` fn");
    }
    if let Some(param) = sig.generics.params.first() {
        errors.push_at(
            param.span(),
            "#[health_check] fns cannot be generic: the registry calls them with no type",
        );
    }
    for input in &sig.inputs {
        let message = match input {
            FnArg::Receiver(_) => {
                "#[health_check] applies to free fns, not methods: register a closure over `self` with `HealthRegistry::register`"
            }
            FnArg::Typed(_) => {
                "a #[health_check] fn takes no parameters: for a check that needs state (a pool, a client), register a closure with `HealthRegistry::register`"
            }
        };
        errors.push_at(input.span(), message);
    }
    if let ReturnType::Default = sig.output {
        errors.push_at(
            sig.ident.span(),
            "a #[health_check] fn returns its result: `Result<(), E: Display>`, `bool`, `HealthStatus` or `CheckReport`",
        );
    }
}
