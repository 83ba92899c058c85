//! Static facts the synthetic data set is built from: categories and their behaviour, national
//! and regional chains, the largest US metros (2020 census populations), and name parts for
//! independents. Brand names are real; every figure attached to them is synthetic.

mod categories;
mod chains;
mod metros;
mod names;

pub use categories::{CATEGORIES, Category, CategoryParams, affinity};
pub use chains::{CHAINS, ChainDef};
pub use metros::{METROS, MetroDef};
pub use names::{SEGMENTS, STREETS, name_parts};

/// "No chain" / "no metro" marker where an index into [`CHAINS`] or [`METROS`] is expected.
pub const NONE: u16 = u16::MAX;
