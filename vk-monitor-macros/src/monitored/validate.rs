//! What the signature alone rules out for `#[monitored]`: a `const fn` (the instrumentation runs
//! at run time) and an `extern` fn (a panic could not unwind out of it to be recorded), each
//! reported on its keyword. Conflicts between arguments are found by `parse`, as it reads them,
//! so that they are reported in the order they are written.

use syn::spanned::Spanned;

use crate::args::Errors;
use crate::item::AnnotatedFn;

pub fn validate(func: &AnnotatedFn, errors: &mut Errors) {
    if let Some(constness) = &func.sig.constness {
        errors.push_at(
            constness.span,
            "#[monitored] cannot instrument a `const fn`: it records metrics and reads the \
             clock at run time, which a `const fn` cannot do",
        );
    }
    if let Some(abi) = &func.sig.abi {
        errors.push_at(
            abi.span(),
            "#[monitored] cannot instrument an `extern` fn: a panic cannot unwind across \
             its ABI, so the call could not be recorded; annotate a plain Rust fn that it calls",
        );
    }
}
