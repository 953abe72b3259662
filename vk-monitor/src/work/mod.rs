//! The recording core: one mechanism records every unit of work the crate observes (a request
//! served, a call sent, a monitored call), and one rule classifies how it ended.
//!
//! The front ends (`http`, `client`, `instrument`) say what a unit is: its families and the
//! labels of its identity, and how their own outcomes map to an [`Ending`]. The core keeps the
//! series ([`Tree`] and [`Scope`] for identities named at run time, [`Unit`] for one
//! identity), and the [`Work`] guard records each unit exactly once, with the ending's label,
//! error kind and span status from [`Ending`]. See `docs/ARCHITECTURE.md`.

mod ending;
mod guard;
mod objective;
mod tree;
mod unit;

pub(crate) use ending::{
    CANCELLED, CANCELLED_STATUS, ERROR, Ending, LabelStyle, SERVER_ERROR, is_failure,
};
pub(crate) use guard::Work;
pub use objective::Objective;
pub(crate) use tree::{Scope, Tree};
pub(crate) use unit::{Families, Unit};
