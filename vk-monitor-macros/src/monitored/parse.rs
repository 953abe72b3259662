//! The arguments of `#[monitored(...)]`, typed: each checked on its own, and against the ones
//! before it (`ok_if` with `error_if`), every problem reported at once and spanned on the
//! offending argument.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Path, Token};

use crate::args::{Errors, ParseArgs, RawArg, parse_label, parse_path, set_once};

const EXPECTED: &str =
    "expected one of `name`, `op`, `ok_if`, `error_if`, `tags`, `objective`, `crate`";

/// How the return value is turned into an outcome when the user overrides the default.
pub enum Classifier {
    /// `ok_if = path`: ok when `path(&ret)` is true, error otherwise.
    OkIf(Path),
    /// `error_if = path`: error when `path(&ret)` is true, ok otherwise.
    ErrorIf(Path),
}

#[derive(Default)]
pub struct MonitoredArgs {
    pub name: Option<LitStr>,
    pub op: Option<LitStr>,
    pub classifier: Option<Classifier>,
    /// `tags(key = "value", ...)`: static tags of the call's Sentry span and events.
    pub tags: Option<Vec<(Ident, LitStr)>>,
    /// `objective = PATH`: a `vk_monitor::Objective` const (or static) the call counts for.
    pub objective: Option<Path>,
    pub krate: Option<Path>,
}

impl ParseArgs for MonitoredArgs {
    fn accept(&mut self, arg: RawArg) -> syn::Result<()> {
        let key = arg.known_key(
            &[
                "name",
                "op",
                "ok_if",
                "error_if",
                "tags",
                "objective",
                "crate",
            ],
            EXPECTED,
        )?;
        if key == "tags" {
            if arg.eq.is_some() || arg.value.is_empty() {
                return Err(syn::Error::new(
                    arg.key.span(),
                    "`tags` takes a list: `tags(component = \"billing\")`",
                ));
            }
            let tags = parse_tags(arg.value)?;
            return set_once(&mut self.tags, &arg.key, tags);
        }
        arg.require_value(&key)?;
        match key.as_str() {
            "name" => set_once(&mut self.name, &arg.key, parse_label(arg.value, "name")?),
            "op" => set_once(&mut self.op, &arg.key, parse_label(arg.value, "op")?),
            "crate" => set_once(&mut self.krate, &arg.key, parse_path(arg.value, "crate")?),
            "objective" => {
                let span = arg.value.span();
                let path = syn::parse2(arg.value).map_err(|_| {
                    syn::Error::new(
                        span,
                        "`objective` takes the path of a `vk_monitor::Objective` const, \
                         such as `objective = CALLS_API`",
                    )
                })?;
                set_once(&mut self.objective, &arg.key, path)
            }
            _ => {
                let path = parse_path(arg.value, &key)?;
                if let Some(previous) = &self.classifier {
                    let previous = match previous {
                        Classifier::OkIf(_) => "ok_if",
                        Classifier::ErrorIf(_) => "error_if",
                    };
                    let message = if previous == key {
                        format!("duplicate argument `{key}`")
                    } else {
                        format!(
                            "`{key}` conflicts with `{previous}`: give one predicate, \
                             the other outcome is its negation"
                        )
                    };
                    return Err(syn::Error::new(arg.key.span(), message));
                }
                self.classifier = Some(if key == "ok_if" {
                    Classifier::OkIf(path)
                } else {
                    Classifier::ErrorIf(path)
                });
                Ok(())
            }
        }
    }
}

/// The pairs inside `tags(...)`: `key = "value"`, keys unique, values non-empty.
fn parse_tags(value: TokenStream) -> syn::Result<Vec<(Ident, LitStr)>> {
    let span = value.span();
    let Some(TokenTree::Group(group)) = value.into_iter().next() else {
        return Err(syn::Error::new(
            span,
            "`tags` takes a list: `tags(component = \"billing\")`",
        ));
    };
    let pairs = syn::punctuated::Punctuated::<TagPair, Token![,]>::parse_terminated
        .parse2(group.stream())?;
    let mut tags: Vec<(Ident, LitStr)> = Vec::new();
    let mut errors = Errors::default();
    for TagPair(key, value) in pairs {
        if tags.iter().any(|(known, _)| *known == key) {
            errors.push_at(key.span(), format!("duplicate tag `{key}`"));
        } else if value.value().is_empty() {
            errors.push_at(value.span(), "a tag value must not be empty");
        } else {
            tags.push((key, value));
        }
    }
    errors.finish()?;
    Ok(tags)
}

struct TagPair(Ident, LitStr);

impl syn::parse::Parse for TagPair {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        let value: LitStr = input.parse().map_err(|error| {
            syn::Error::new(error.span(), format!("tag `{key}` takes a string literal"))
        })?;
        Ok(TagPair(key, value))
    }
}
