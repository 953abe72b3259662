//! The function under either attribute, parsed leniently: attributes, visibility and signature
//! are parsed, the body is kept as tokens so that a mistake inside it is reported by rustc, not
//! by us. Also how either attribute hands back the user's item with its errors.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::{Attribute, Block, Expr, Signature, Stmt, Token, Visibility, braced, token};

/// A function under one of our attributes.
pub struct AnnotatedFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub brace: token::Brace,
    pub body: TokenStream,
}

impl AnnotatedFn {
    /// Parses `tokens` as the item under `#[attribute]`, naming it in errors.
    pub fn parse(tokens: TokenStream, attribute: &str) -> syn::Result<Self> {
        syn::parse::Parser::parse2(
            |input: ParseStream| Self::parse_item(input, attribute),
            tokens,
        )
    }

    fn parse_item(input: ParseStream, attribute: &str) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !looks_like_fn(input) {
            return Err(syn::Error::new(
                input.span(),
                format!("#[{attribute}] only applies to functions and methods with a body"),
            ));
        }
        let sig: Signature = input.parse()?;
        if input.peek(Token![;]) {
            return Err(syn::Error::new(
                input.span(),
                format!(
                    "#[{attribute}] needs a function body: put it on the method in the `impl` \
                     block, or on a default method that has a body"
                ),
            ));
        }
        let content;
        let brace = braced!(content in input);
        // Inner attributes of the body (`#![allow(..)]`) apply to the whole function; moving
        // them to the outside keeps them valid once the body is wrapped.
        for mut inner in content.call(Attribute::parse_inner)? {
            inner.style = syn::AttrStyle::Outer;
            attrs.push(inner);
        }
        let body: TokenStream = content.parse()?;
        Ok(AnnotatedFn {
            attrs,
            vis,
            sig,
            brace,
            body,
        })
    }

    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|attr| attr.path().is_ident(name))
    }

    pub fn body_span(&self) -> Span {
        self.brace.span.join()
    }

    /// The shape `#[async_trait]` leaves behind: a sync fn whose body ends in
    /// `Box::pin(async move { .. })`. Returns the statements before that call and the call.
    pub fn async_trait_body(&self) -> Option<(Vec<Stmt>, syn::ExprCall)> {
        if self.sig.asyncness.is_some() {
            return None;
        }
        let mut stmts = syn::parse::Parser::parse2(Block::parse_within, self.body.clone()).ok()?;
        let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.pop() else {
            return None;
        };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let mut segments = func.path.segments.iter().rev();
        let is_box_pin = segments.next().is_some_and(|s| s.ident == "pin")
            && segments.next().is_some_and(|s| s.ident == "Box");
        let wraps_async_block = call.args.len() == 1 && matches!(call.args[0], Expr::Async(_));
        (is_box_pin && wraps_async_block).then_some((stmts, call))
    }
}

fn looks_like_fn(input: ParseStream) -> bool {
    let fork = input.fork();
    fork.parse::<Option<Token![const]>>().is_ok()
        && fork.parse::<Option<Token![async]>>().is_ok()
        && fork.parse::<Option<Token![unsafe]>>().is_ok()
        && fork.parse::<Option<syn::Abi>>().is_ok()
        && fork.peek(Token![fn])
}

/// The user's item unchanged, followed by `error` as `compile_error!`s: rustc and
/// rust-analyzer still see the item, so its uses resolve and only our errors are reported.
pub fn with_errors(item: TokenStream, error: &syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#item #error)
}
