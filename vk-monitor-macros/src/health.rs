//! `#[health_check]`: validates the function and its arguments, then registers it with the
//! runtime's health registry at link time. The function itself is emitted unchanged.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, LitBool, LitStr, Path, ReturnType};

use crate::attr::{Errors, RawArg, parse_label, parse_path, parse_raw, set_once};
use crate::item::AnnotatedFn;

const EXPECTED: &str = "expected one of `name`, `kind`, `timeout`, `critical`, `crate`";

#[derive(Default)]
struct HealthArgs {
    name: Option<LitStr>,
    kind: Option<Ident>,
    timeout_ms: Option<(u64, Span)>,
    critical: Option<LitBool>,
    krate: Option<Path>,
}

impl HealthArgs {
    fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = HealthArgs::default();
        match syn::parse::Parser::parse2(parse_raw, tokens) {
            Ok(raw) => {
                for arg in raw {
                    if let Err(error) = args.accept(arg) {
                        errors.push(error);
                    }
                }
            }
            Err(error) => errors.push(error),
        }
        args
    }

    fn accept(&mut self, arg: RawArg) -> syn::Result<()> {
        let key = arg.known_key(&["name", "kind", "timeout", "critical", "crate"], EXPECTED)?;
        arg.require_value(&key)?;
        let span = arg.value.span();
        match key.as_str() {
            "name" => set_once(&mut self.name, &arg.key, parse_label(arg.value, "name")?),
            "crate" => set_once(&mut self.krate, &arg.key, parse_path(arg.value, "crate")?),
            "kind" => {
                let kind: Ident = syn::parse2(arg.value)
                    .ok()
                    .filter(|kind: &Ident| {
                        matches!(&*kind.to_string(), "liveness" | "readiness" | "startup")
                    })
                    .ok_or_else(|| {
                        syn::Error::new(span, "`kind` is one of `liveness`, `readiness`, `startup`")
                    })?;
                set_once(&mut self.kind, &arg.key, kind)
            }
            "timeout" => {
                let lit: LitStr = syn::parse2(arg.value).map_err(|_| {
                    syn::Error::new(
                        span,
                        "`timeout` takes a duration string such as \"500ms\", \"2s\" or \"1m\"",
                    )
                })?;
                let millis = parse_duration_ms(&lit.value())
                    .map_err(|why| syn::Error::new(lit.span(), why))?;
                set_once(&mut self.timeout_ms, &arg.key, (millis, lit.span()))
            }
            _ => {
                let critical: LitBool = syn::parse2(arg.value)
                    .map_err(|_| syn::Error::new(span, "`critical` takes `true` or `false`"))?;
                set_once(&mut self.critical, &arg.key, critical)
            }
        }
    }
}

/// `"500ms"`, `"2s"`, `"1m"` → milliseconds; checked here so a typo is a compile error.
fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => {
            return Err(format!(
                "`{text}` needs a unit: ms, s or m, as in \"500ms\""
            ));
        }
    };
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("`{text}` is not a whole number of ms, s or m"))?;
    if millis == 0 {
        return Err("a timeout of zero would fail every run".into());
    }
    Ok(millis)
}

pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = HealthArgs::parse(args, &mut errors);
    let func = AnnotatedFn::parse(item.clone(), "health_check")
        .map_err(|error| errors.push(error))
        .ok();
    if let Some(func) = &func {
        validate(func, &mut errors);
    }
    match (errors.finish(), func) {
        (Ok(()), Some(func)) => expand(&args, &func, item),
        (Ok(()), None) => item,
        (Err(error), _) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
    }
}

fn validate(func: &AnnotatedFn, errors: &mut Errors) {
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

fn expand(args: &HealthArgs, func: &AnnotatedFn, item: TokenStream) -> TokenStream {
    let sig = &func.sig;
    let ident = &sig.ident;
    let private = match &args.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::vk_monitor::__private),
    };
    let default_name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let name = args.name.as_ref().unwrap_or(&default_name);
    let kind = match args.kind.as_ref().map(Ident::to_string).as_deref() {
        Some("liveness") => quote!(Liveness),
        Some("startup") => quote!(Startup),
        _ => quote!(Readiness),
    };
    let timeout_ms = args.timeout_ms.map_or(2_000, |(ms, _)| ms);
    let critical = args.critical.as_ref().is_none_or(LitBool::value);
    let ReturnType::Type(_, ret) = &sig.output else {
        return item;
    };
    // Spanned on the return type, so an unsupported one is reported there.
    let run = if sig.asyncness.is_some() {
        quote_spanned!(ret.span()=> || #private::run_async(#ident()))
    } else {
        quote_spanned!(ret.span()=> || #private::run_blocking(#ident))
    };
    // A crate-level name per check: a second check with the same name in this crate is a
    // "defined multiple times" error pointing at the name.
    let sanitized: String = name
        .value()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let marker = format_ident!("__vk_health_check_named_{}", sanitized, span = name.span());
    quote! {
        #item
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #marker { () => {}; }
        #private::inventory::submit! {
            #private::AnnotatedCheck {
                name: #name,
                kind: #private::CheckKind::#kind,
                timeout_ms: #timeout_ms,
                critical: #critical,
                run: #run,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations_take_ms_s_and_m() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2s"), Ok(2_000));
        assert_eq!(parse_duration_ms("1m"), Ok(60_000));
        assert!(parse_duration_ms("500").is_err());
        assert!(parse_duration_ms("1.5s").is_err());
        assert!(parse_duration_ms("0ms").is_err());
        assert!(parse_duration_ms("2h").is_err());
    }
}
