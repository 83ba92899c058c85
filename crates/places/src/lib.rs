//! Placer-style location analytics over a deterministic synthetic data set on real US geography,
//! or over the customer's imported data set when one is active.
//!
//! - [`dataset`]: real ZIP centroids (from the `zipcodes` crate, compiled in as `data/zips.tsv`) and the 60 largest metros (2020 census),
//!   synthetic places of real national brands, invented regional chains and independents, and
//!   R-tree indexes (`rstar`) behind every geographic filter.
//! - [`calendar`]: the days with data and the calendar and growth effects on visits.
//! - [`model`]: visits computed on demand (calendar, trend, noise), dwell, frequency.
//! - [`tools`]: the analytics tools with typed, schema-described arguments and typed outputs;
//!   JSON in, JSON out.
//! - [`imported`]: a stored data set's places indexed in memory, and the tools over it.
//! - [`export`]: the built-in set as Patterns rows (`pi-server export patterns`).
//! - [`registry`]: those tools as `pi_domain::tools::Tool`s over the active data set, for the
//!   agents and the admin API.
//!
//! Every output's metadata says whether its figures are synthetic or which imported data set
//! they come from. No I/O happens here: stored data sets are read through the
//! `pi_domain::data::DatasetReader` port.

pub mod calendar;
pub mod catalog;
pub mod dataset;
pub mod export;
pub mod geo;
pub mod imported;
pub mod model;
pub mod registry;
mod rng;
pub mod tools;

pub use dataset::{Dataset, Scale};
pub use registry::{PlacesData, register_tools};
