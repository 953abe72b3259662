use super::monitored;
use quote::quote;

#[test]
fn disabled_emits_the_item_unchanged() {
    let item = quote! {
        /// Docs.
        #[inline]
        pub async fn load(id: u32) -> Result<u32, String> { Ok(id) }
    };
    let out = monitored(quote!(name = "load_call"), item.clone(), false);
    assert_eq!(out.to_string(), item.to_string());
}

#[test]
fn disabled_still_uses_the_objective() {
    let out = monitored(
        quote!(objective = CALLS_API),
        quote!(
            fn load() -> u8 {
                7
            }
        ),
        false,
    )
    .to_string();
    assert_eq!(out, "fn load () -> u8 { let _ = & CALLS_API ; 7 }");
}

#[test]
fn disabled_still_validates_the_arguments() {
    let item = quote!(
        fn load() {}
    );
    let out = monitored(quote!(nmae = "x"), item.clone(), false).to_string();
    assert!(
        out.starts_with(&item.to_string()),
        "the item is kept: {out}"
    );
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("unknown argument `nmae`"), "{out}");
}

#[test]
fn enabled_instruments_through_the_runtime() {
    let out = monitored(
        quote!(),
        quote!(
            fn load() {}
        ),
        true,
    )
    .to_string();
    assert!(out.contains("__VK_SITE"), "{out}");
    assert!(
        out.contains(":: vk_monitor :: __private :: CallSite :: new"),
        "{out}"
    );
}

/// With the `tracing` feature the call runs in a `tracing` span, made by the runtime from the
/// callsite statics the expansion writes; without it nothing in the expansion names `tracing`
/// or those statics, so a build without the feature needs no `tracing` crate.
#[test]
fn the_tracing_span_follows_the_tracing_feature() {
    for item in [
        quote!(
            fn load() {}
        ),
        quote!(
            async fn load() {}
        ),
        quote!(
            #[track_caller]
            fn load() {}
        ),
    ] {
        let out = monitored(quote!(op = "db.query"), item, true).to_string();
        let traced = out.contains("call_span (& __VK_TRACE")
            && out.contains("static __VK_TRACE : :: vk_monitor :: __private :: DefaultCallsite");
        assert_eq!(
            traced,
            cfg!(feature = "tracing"),
            "feature tracing: {}; {out}",
            cfg!(feature = "tracing")
        );
        if !cfg!(feature = "tracing") {
            assert!(!out.contains("tracing") && !out.contains("TRACE"), "{out}");
        }
    }
}

/// The doc section of the expansion, its doc attributes' text pieces joined.
fn promql_of(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    let out = monitored(args, item, true).to_string();
    assert!(
        out.contains("cfg_attr (doc , doc"),
        "docs only under cfg(doc): {out}"
    );
    out
}

#[test]
fn the_docs_give_the_promql_of_the_function() {
    let free = promql_of(
        quote!(),
        quote!(
            fn create_call() {}
        ),
    );
    for expected in [
        r#""sum(rate(function_calls_total" , "{function=\"create_call\", module=\"" , :: core :: module_path ! ()"#,
        r#"result=~\"error|panic\""#,
        "histogram_quantile(0.99",
    ] {
        assert!(free.contains(expected), "{expected} in {free}");
    }
    assert!(
        !free.contains("burn rate"),
        "no objective, no burn rate: {free}"
    );

    let method = promql_of(
        quote!(),
        quote!(
            fn end(&self) {}
        ),
    );
    assert!(method.contains(r#"function=~\".+::end\""#), "{method}");

    let with_objective = promql_of(
        quote!(objective = CALLS_API),
        quote!(
            fn create_call() {}
        ),
    );
    assert!(
        with_objective.contains("burn rate of the error budget of CALLS_API"),
        "{with_objective}"
    );
    assert!(
        with_objective.contains("objective_target_ratio"),
        "{with_objective}"
    );
}
