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
