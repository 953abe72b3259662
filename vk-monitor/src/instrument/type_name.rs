//! Short type names for labels and Sentry events: the same for every instantiation of a
//! generic type and for references to it.

/// `my_crate::api::Repo<T>` → `Repo`, `&app::Service` → `Service`.
pub(crate) fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::")
        .next()
        .unwrap_or(base)
        .trim_start_matches(['&', '*'])
        .trim_start_matches("mut ")
}

/// [`short_type_name`] of `T`.
pub(crate) fn short_name_of<T: ?Sized>() -> &'static str {
    short_type_name(std::any::type_name::<T>())
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_are_shortened_to_the_bare_type() {
        assert_eq!(
            short_type_name("app::repo::CallRepository"),
            "CallRepository"
        );
        assert_eq!(
            short_type_name("app::Cache<alloc::string::String, u8>"),
            "Cache"
        );
        assert_eq!(short_type_name("&app::Service"), "Service");
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
