//! Arguments of `#[monitored(...)]`: a typed representation, and a parser that reports every
//! problem at once, each spanned on the offending argument.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Path, Token};

const EXPECTED: &str = "expected one of `name`, `op`, `ok_if`, `error_if`, `tags`, `crate`";

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
    pub krate: Option<Path>,
}

/// One `key = value` pair as written, before its value is checked.
pub(crate) struct RawArg {
    pub(crate) key: Ident,
    pub(crate) eq: Option<Token![=]>,
    pub(crate) value: TokenStream,
}

impl RawArg {
    /// The argument's name, if it is one of `known`; `expected` lists them in the error.
    pub(crate) fn known_key(&self, known: &[&str], expected: &str) -> syn::Result<String> {
        let key = self.key.unraw().to_string();
        if known.contains(&key.as_str()) {
            Ok(key)
        } else {
            Err(syn::Error::new(
                self.key.span(),
                format!("unknown argument `{key}`; {expected}"),
            ))
        }
    }

    /// Checks the argument is written `key = value`, with a value.
    pub(crate) fn require_value(&self, key: &str) -> syn::Result<()> {
        let Some(eq) = self.eq else {
            return Err(syn::Error::new(
                self.key.span(),
                format!("`{key}` needs a value: `{key} = {}`", example_value(key)),
            ));
        };
        if self.value.is_empty() {
            return Err(syn::Error::new(
                eq.span,
                format!(
                    "expected a value after `{key} =`, such as `{key} = {}`",
                    example_value(key)
                ),
            ));
        }
        Ok(())
    }
}

impl MonitoredArgs {
    pub fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let raw = parse_raw.parse2(tokens)?;
        let mut args = MonitoredArgs::default();
        let mut errors = Errors::default();
        for arg in raw {
            if let Err(err) = args.accept(arg) {
                errors.push(err);
            }
        }
        errors.finish()?;
        Ok(args)
    }

    fn accept(&mut self, arg: RawArg) -> syn::Result<()> {
        let key = arg.known_key(
            &["name", "op", "ok_if", "error_if", "tags", "crate"],
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

pub(crate) fn example_value(key: &str) -> &'static str {
    match key {
        "name" => "\"checkout\"",
        "op" => "\"db.query\"",
        "kind" => "readiness",
        "timeout" => "\"500ms\"",
        "critical" => "false",
        "crate" => "::vk_monitor",
        _ => "path::to::predicate",
    }
}

pub(crate) fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate argument `{key}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

pub(crate) fn parse_label(value: TokenStream, key: &str) -> syn::Result<LitStr> {
    let span = value.span();
    let lit: LitStr = syn::parse2(value).map_err(|_| {
        syn::Error::new(
            span,
            format!(
                "`{key}` takes a string literal, such as `{key} = {}`",
                example_value(key)
            ),
        )
    })?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{key}` must not be empty"),
        ));
    }
    Ok(lit)
}

pub(crate) fn parse_path(value: TokenStream, key: &str) -> syn::Result<Path> {
    let span = value.span();
    syn::parse2(value).map_err(|_| {
        let what = if key == "crate" {
            "the path of the `vk_monitor` crate, such as `crate = ::vk_monitor`".to_string()
        } else {
            format!(
                "a path to a `fn(&ReturnType) -> bool`, such as `{key} = {}`",
                example_value(key)
            )
        };
        syn::Error::new(span, format!("`{key}` takes {what}"))
    })
}

/// Splits the arguments into `key [= value]` pairs at top-level commas, so that every argument
/// can be checked, and reported, on its own.
pub(crate) fn parse_raw(input: ParseStream) -> syn::Result<Vec<RawArg>> {
    let mut args = Vec::new();
    while !input.is_empty() {
        let key = input.call(Ident::parse_any).map_err(|_| {
            syn::Error::new(
                input.span(),
                "expected an argument such as `name = \"checkout\"`",
            )
        })?;
        let eq: Option<Token![=]> = input.parse()?;
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            value.extend([input.parse::<TokenTree>()?]);
        }
        // `key(...)` is a list argument, such as `tags(component = "billing")`.
        let is_list = matches!(
            value.clone().into_iter().collect::<Vec<_>>().as_slice(),
            [TokenTree::Group(group)] if group.delimiter() == proc_macro2::Delimiter::Parenthesis
        );
        if eq.is_none() && !value.is_empty() && !is_list {
            return Err(syn::Error::new(
                value.span(),
                format!("expected `=` after `{key}`"),
            ));
        }
        args.push(RawArg { key, eq, value });
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(args)
}

/// Collects errors so that all of them reach the user in one compile.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn push_at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
