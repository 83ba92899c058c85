//! Placer-style location analytics over a deterministic synthetic data set on real US geography.
//!
//! - [`dataset`]: real ZIP centroids (from the `zipcodes` crate, compiled in as `data/zips.tsv`) and the 60 largest metros (2020 census),
//!   synthetic places of real national brands, invented regional chains and independents, and
//!   R-tree indexes (`rstar`) behind every geographic filter.
//! - [`calendar`]: the days with data and the calendar and growth effects on visits.
//! - [`model`]: visits computed on demand (calendar, trend, noise), dwell, frequency.
//! - [`tools`]: the analytics tools with typed, schema-described arguments and typed outputs;
//!   JSON in, JSON out.
//! - [`registry`]: those tools as `pi_domain::tools::Tool`s, for the agents and the admin API.
//!
//! All figures are synthetic and labelled so in every tool output. No I/O happens here.

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
