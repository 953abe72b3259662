//! The `tracing` span of a monitored call, made outside the expansion.
//!
//! `tracing::span!` writes its whole callsite logic (level check, interest cache, field set
//! lookup, value set) into every function that uses it. Here the expansion writes only the two
//! statics a `tracing` callsite must own, and [`call_span`] does the rest, once, for every
//! annotated fn: the span is the one `span!(INFO, "<fn name>", function, module, op)` makes.
//!
//! The span also declares a field it never records, [`CALL_MARKER`]: formatters print only
//! recorded fields, and the crate's `tracing` layer recognises a monitored call's span by it,
//! so that such a call, which has its own Sentry span, is not given a second one.

#[cfg(feature = "tracing-subscriber")]
pub(crate) use traced::is_call_span;
#[cfg(feature = "tracing")]
pub use traced::{call_span, span_metadata};

/// The field only the span of a monitored call declares (never with a value).
#[cfg(feature = "tracing")]
pub(crate) const CALL_MARKER: &str = "vk_monitor.call";
#[cfg(feature = "tracing")]
pub use tracing::{Metadata, callsite::DefaultCallsite};

#[cfg(feature = "tracing")]
mod traced {
    use tracing::callsite::{Callsite, DefaultCallsite, Identifier};
    use tracing::field::{FieldSet, Value};
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    use tracing::metadata::Kind;
    use tracing::{Level, Metadata, Span};

    use super::CALL_MARKER;

    /// The metadata of a call's span callsite: level `INFO`, target the module, the fields
    /// `function`, `module` and `op` (and the marker, never recorded). `callsite` is the
    /// static that holds this metadata.
    pub const fn span_metadata(
        name: &'static str,
        file: &'static str,
        line: u32,
        module: &'static str,
        callsite: &'static DefaultCallsite,
    ) -> Metadata<'static> {
        Metadata::new(
            name,
            module,
            Level::INFO,
            Some(file),
            Some(line),
            Some(module),
            FieldSet::new(
                &["function", "module", "op", CALL_MARKER],
                Identifier(callsite),
            ),
            Kind::SPAN,
        )
    }

    /// Whether `metadata` is a monitored call's span callsite's.
    #[cfg(feature = "tracing-subscriber")]
    pub(crate) fn is_call_span(metadata: &Metadata<'_>) -> bool {
        metadata.fields().field(CALL_MARKER).is_some()
    }

    /// The span of one call: what `tracing::span!` does at the call's callsite. The level
    /// check is inline, so a call that no subscriber could want costs two loads.
    #[inline]
    pub fn call_span(callsite: &'static DefaultCallsite, function: &str, op: &str) -> Span {
        if Level::INFO <= STATIC_MAX_LEVEL && Level::INFO <= LevelFilter::current() {
            new_span(callsite, function, op)
        } else {
            Span::none()
        }
    }

    fn new_span(callsite: &'static DefaultCallsite, function: &str, op: &str) -> Span {
        let interest = callsite.interest();
        let meta = callsite.metadata();
        let enabled = !interest.is_never()
            && (interest.is_always()
                || tracing::dispatcher::get_default(|dispatch| dispatch.enabled(meta)));
        if !enabled {
            return Span::none();
        }
        let fields = meta.fields();
        let module = meta.module_path().unwrap_or_default();
        let mut names = fields.iter();
        let (Some(function_field), Some(module_field), Some(op_field)) =
            (names.next(), names.next(), names.next())
        else {
            return Span::none();
        };
        Span::new(
            meta,
            &fields.value_set(&[
                (&function_field, Some(&function as &dyn Value)),
                (&module_field, Some(&module as &dyn Value)),
                (&op_field, Some(&op as &dyn Value)),
            ]),
        )
    }
}
