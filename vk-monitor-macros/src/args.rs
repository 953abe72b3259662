//! Argument parsing shared by both attributes: the split into `key [= value]` pairs and the
//! loop that checks each one (`ParseArgs`), the parsers and suggested values of the kinds of
//! value they take (a label, a path), and what `crate = path` means to an expansion. Also
//! `Errors`, which gathers every error, of the arguments and of the signature, so that one
//! compile reports them all.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Path, Token};

/// One `key = value` pair as written, before its value is checked.
pub struct RawArg {
    pub key: Ident,
    pub eq: Option<Token![=]>,
    pub value: TokenStream,
}

impl RawArg {
    /// The argument's name, if it is one of `known`; `expected` lists them in the error.
    pub fn known_key(&self, known: &[&str], expected: &str) -> syn::Result<String> {
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
    pub fn require_value(&self, key: &str) -> syn::Result<()> {
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

/// The typed arguments of one attribute, filled in one argument at a time.
pub trait ParseArgs: Default {
    /// Checks one argument and records it, or says what is wrong with it.
    fn accept(&mut self, arg: RawArg) -> syn::Result<()>;

    /// Hands every argument to `accept`, so that a mistake in one does not hide the others;
    /// only a list that cannot be split into arguments stops at its first error.
    fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut args = Self::default();
        let mut errors = Errors::default();
        for arg in parse_raw.parse2(tokens)? {
            if let Err(error) = args.accept(arg) {
                errors.push(error);
            }
        }
        errors.finish()?;
        Ok(args)
    }
}

/// The value shown in an error's suggestion for `key`, so that every message about one
/// argument suggests the same thing.
pub fn example_value(key: &str) -> &'static str {
    match key {
        "name" => "\"checkout\"",
        "op" => "\"db.query\"",
        "kind" => "readiness",
        "timeout" => "\"500ms\"",
        "critical" => "false",
        "crate" => "::vk_monitor",
        "objective" => "CALLS_API",
        _ => "path::to::predicate",
    }
}

pub fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate argument `{key}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

pub fn parse_label(value: TokenStream, key: &str) -> syn::Result<LitStr> {
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

pub fn parse_path(value: TokenStream, key: &str) -> syn::Result<Path> {
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

/// The runtime's hidden module that the expansions call, through `crate = path` where the
/// user renamed or re-exported `vk_monitor`.
pub fn private_path(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::vk_monitor::__private),
    }
}

/// Splits the arguments into `key [= value]` pairs at top-level commas, so that every argument
/// can be checked, and reported, on its own.
pub fn parse_raw(input: ParseStream) -> syn::Result<Vec<RawArg>> {
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

    /// The value, or `None` with its error kept, so that parsing goes on to the next part.
    pub fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
