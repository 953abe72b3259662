//! The `tracing` span of a monitored call, made outside the expansion.
//!
//! `tracing::span!` writes its whole callsite logic (level check, interest cache, field set
//! lookup, value set) into every function that uses it. Here the expansion writes only the two
//! statics a `tracing` callsite must own, and [`call_span`] does the rest, once, for every
//! annotated fn: the span is the one `span!(INFO, "<fn name>", function, module, op)` makes.
//! Without the `tracing` feature a call's span is [`CallSpan`], which does nothing.

#[cfg(feature = "tracing")]
pub use traced::{CallSpan, call_span, span_metadata};
#[cfg(feature = "tracing")]
pub(crate) use traced::{SpanEntered, SpanExit};
#[cfg(feature = "tracing")]
pub use tracing::{Metadata, callsite::DefaultCallsite};
#[cfg(not(feature = "tracing"))]
pub use untraced::{CallSpan, NO_SPAN};
#[cfg(not(feature = "tracing"))]
pub(crate) use untraced::{SpanEntered, SpanExit};

#[cfg(feature = "tracing")]
mod traced {
    use tracing::callsite::{Callsite, DefaultCallsite, Identifier};
    use tracing::field::{FieldSet, Value};
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    use tracing::metadata::Kind;
    use tracing::{Level, Metadata, Span};

    /// The span a monitored call runs in.
    pub type CallSpan = Span;

    /// The span entered for one poll of an async body.
    pub(crate) type SpanEntered<'a> = tracing::span::Entered<'a>;

    /// Exits the span it entered when dropped: a future's field declared after its body, so
    /// that the body is dropped in the span. Unlike `Entered`, it is `Send`, as the future
    /// holding it must be.
    #[derive(Default)]
    pub(crate) struct SpanExit<'a>(Option<&'a Span>);

    impl<'a> SpanExit<'a> {
        pub(crate) fn enter(&mut self, span: &'a Span) {
            span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
            self.0 = Some(span);
        }
    }

    impl Drop for SpanExit<'_> {
        fn drop(&mut self) {
            if let Some(span) = self.0 {
                span.with_subscriber(|(id, dispatch)| dispatch.exit(id));
            }
        }
    }

    /// The metadata of a call's span callsite: level `INFO`, target the module, the fields
    /// `function`, `module` and `op`. `callsite` is the static that holds this metadata.
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
            FieldSet::new(&["function", "module", "op"], Identifier(callsite)),
            Kind::SPAN,
        )
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

#[cfg(not(feature = "tracing"))]
mod untraced {
    /// Without the `tracing` feature, a call has no `tracing` span.
    pub struct CallSpan;

    /// The span every call has.
    pub const NO_SPAN: CallSpan = CallSpan;

    /// What entering no span gives: nothing to exit.
    pub(crate) struct SpanEntered<'a>(std::marker::PhantomData<&'a ()>);

    impl CallSpan {
        #[inline]
        pub(crate) fn enter(&self) -> SpanEntered<'_> {
            SpanEntered(std::marker::PhantomData)
        }
    }

    /// Nothing to exit.
    #[derive(Default)]
    pub(crate) struct SpanExit<'a>(std::marker::PhantomData<&'a ()>);

    impl SpanExit<'_> {
        pub(crate) fn enter(&mut self, _: &CallSpan) {}
    }
}
