//! The `method` label of a request, as the metrics and the Sentry transaction names both say
//! it: its name in the standard set, else `OTHER`. A client can send any token as a method,
//! and each would otherwise be a series or a transaction name.

use http::Method;

/// The methods that keep their name in the `method` label; any other is `OTHER`.
pub(crate) const METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// How many labels there are: the standard methods and `OTHER`.
pub(crate) const LABELS: usize = METHODS.len() + 1;

/// The position of `method`'s label, below [`LABELS`].
pub(crate) fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|known| known == method)
        .unwrap_or(METHODS.len())
}

/// The label at `index`.
pub(crate) fn method_label(index: usize) -> &'static str {
    METHODS.get(index).map_or("OTHER", Method::as_str)
}

/// The `method` label of `method`.
pub(crate) fn method_name(method: &Method) -> &'static str {
    method_label(method_index(method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_are_other() {
        assert_eq!(method_label(method_index(&Method::PATCH)), "PATCH");
        let purge = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(method_index(&purge)), "OTHER");
    }

    proptest::proptest! {
        #[test]
        fn any_method_has_one_of_ten_labels(token in "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}") {
            let method = Method::from_bytes(token.as_bytes()).unwrap();
            let label = method_name(&method);
            if METHODS.iter().any(|known| known.as_str() == token) {
                proptest::prop_assert_eq!(label, token);
            } else {
                proptest::prop_assert_eq!(label, "OTHER");
            }
        }
    }
}
