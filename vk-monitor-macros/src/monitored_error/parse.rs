//! The `#[monitored(...)]` attributes of a derived `MonitoredError`, typed: on the type (a
//! struct's verdict, or an enum's default, and `crate = path`) and on each variant.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitInt, LitStr, Path};

use crate::args::{Errors, ParseArgs, RawArg, parse_label, parse_path, parse_raw, set_once};

/// What a value counts as.
#[derive(Clone)]
pub enum Verdict {
    /// Not an error: counted as `result="ok"`.
    Ok,
    /// An error, counted under `kind`.
    Error(String),
    /// Whatever the one field says: `#[monitored(transparent)]` on a wrapper of another error.
    Transparent(syn::Member),
}

impl Verdict {
    /// What a variant without an attribute counts as, as every `Err` does without the trait.
    pub const ERROR: Verdict = Verdict::Error(String::new());
}

/// The arguments of one item's attributes, as written.
#[derive(Default)]
struct ErrorArgs {
    ok: Option<Ident>,
    transparent: Option<Ident>,
    kind: Option<LitStr>,
    status: Option<LitInt>,
    krate: Option<Path>,
}

const EXPECTED: &str = "expected `ok`, `kind = \"not_found\"`, `status = 404` or `transparent` \
     (and `crate = path` on the type)";

impl ParseArgs for ErrorArgs {
    fn accept(&mut self, arg: RawArg) -> syn::Result<()> {
        let key = arg.known_key(&["ok", "kind", "status", "transparent", "crate"], EXPECTED)?;
        if key == "ok" || key == "transparent" {
            if let Some(eq) = arg.eq {
                return Err(syn::Error::new(
                    eq.span,
                    format!("`{key}` takes no value: `#[monitored({key})]`"),
                ));
            }
            let slot = if key == "ok" {
                &mut self.ok
            } else {
                &mut self.transparent
            };
            return set_once(slot, &arg.key, arg.key.clone());
        }
        if arg.eq.is_none() {
            let example = match key.as_str() {
                "kind" => "kind = \"not_found\"",
                "status" => "status = 404",
                _ => "crate = ::vk_monitor",
            };
            return Err(syn::Error::new(
                arg.key.span(),
                format!("`{key}` needs a value: `{example}`"),
            ));
        }
        arg.require_value(&key)?;
        match key.as_str() {
            "kind" => set_once(&mut self.kind, &arg.key, parse_label(arg.value, "kind")?),
            "crate" => set_once(&mut self.krate, &arg.key, parse_path(arg.value, "crate")?),
            _ => {
                let span = arg.value.span();
                let status: LitInt = syn::parse2(arg.value).map_err(|_| status_error(span))?;
                match status.base10_parse::<u16>() {
                    Ok(100..=599) => set_once(&mut self.status, &arg.key, status),
                    _ => Err(status_error(status.span())),
                }
            }
        }
    }
}

fn status_error(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`status` takes an HTTP status code from 100 to 599, such as `status = 404`",
    )
}

/// One item's classification: its verdict, if it has one of its own, and the crate path.
#[derive(Default)]
pub struct Classification {
    pub verdict: Option<Verdict>,
    pub krate: Option<Path>,
}

impl Classification {
    /// Reads the `#[monitored(...)]` attributes among `attrs`; `on_type` allows `crate`;
    /// `fields` are the item's own (none for an enum), which `transparent` needs one of.
    pub fn of(
        attrs: &[Attribute],
        on_type: bool,
        fields: Option<&syn::Fields>,
    ) -> syn::Result<Self> {
        let mut args = ErrorArgs::default();
        let mut errors = Errors::default();
        for attr in attrs
            .iter()
            .filter(|attr| attr.path().is_ident("monitored"))
        {
            let tokens = match attr.meta.require_list() {
                Ok(list) => list.tokens.clone(),
                Err(_) => {
                    errors.push_at(
                        attr.span(),
                        format!("expected `#[monitored(..)]`; {EXPECTED}"),
                    );
                    continue;
                }
            };
            let raw = match syn::parse::Parser::parse2(parse_raw, tokens) {
                Ok(raw) => raw,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            };
            for arg in raw {
                if let Err(error) = args.accept(arg) {
                    errors.push(error);
                }
            }
        }
        if let (Some(path), false) = (&args.krate, on_type) {
            errors.push_at(path.span(), "`crate` goes on the type, not on a variant");
        }
        if let Some(transparent) = &args.transparent {
            let others = [
                args.ok.as_ref().map(Spanned::span),
                args.kind.as_ref().map(LitStr::span),
                args.status.as_ref().map(LitInt::span),
            ];
            for span in others.into_iter().flatten() {
                errors.push_at(
                    span,
                    "`transparent` takes the field's verdict: it goes alone",
                );
            }
            let members: Vec<syn::Member> = fields.map_or(Vec::new(), |f| f.members().collect());
            let verdict = match <[syn::Member; 1]>::try_from(members) {
                Ok([member]) => Some(Verdict::Transparent(member)),
                Err(_) => {
                    let why = match fields {
                        Some(_) => {
                            "`transparent` needs exactly one field, whose own `MonitoredError` decides"
                        }
                        None => "`transparent` goes on a variant with one field, not on the enum",
                    };
                    errors.push_at(transparent.span(), why);
                    None
                }
            };
            errors.finish()?;
            return Ok(Classification {
                verdict,
                krate: args.krate,
            });
        }
        let verdict = match (&args.ok, &args.kind, &args.status) {
            (Some(_), Some(kind), _) => {
                errors.push_at(
                    kind.span(),
                    "`ok` and `kind` contradict: a kind names an error",
                );
                None
            }
            (Some(_), None, Some(status)) => {
                errors.push_at(status.span(), "`ok` and `status` contradict: choose one");
                None
            }
            (Some(_), None, None) => Some(Verdict::Ok),
            (None, kind, Some(status)) => {
                let code: u16 = status.base10_parse()?;
                match (code >= 500, kind) {
                    (true, Some(kind)) => Some(Verdict::Error(kind.value())),
                    (true, None) => Some(Verdict::Error("server_error".to_owned())),
                    (false, None) => Some(Verdict::Ok),
                    (false, Some(kind)) => {
                        errors.push_at(
                            kind.span(),
                            format!(
                                "`kind` names an error, and status {code} is not counted as one \
                                 (only 5xx are); remove `kind` or use a 5xx status"
                            ),
                        );
                        None
                    }
                }
            }
            (None, Some(kind), None) => Some(Verdict::Error(kind.value())),
            (None, None, None) => None,
        };
        errors.finish()?;
        Ok(Classification {
            verdict,
            krate: args.krate,
        })
    }
}
