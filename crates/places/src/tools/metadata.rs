//! The metadata every tool output carries: the figures are synthetic, and from which data set.

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::model::{FIRST_DAY, LAST_DAY};

/// Where the figures come from. Fields in alphabetical order (see [`super::Place`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Days with data.
    pub data_range: DataRange,
    /// What is real and what is not.
    pub note: String,
    /// Data-set scale (`small`, `default`, `large`).
    pub scale: String,
    /// Data-set seed.
    pub seed: u64,
    /// The model behind the figures.
    pub source: String,
    /// Always true: every figure is synthetic.
    pub synthetic: bool,
}

/// First and last day with data, YYYY-MM-DD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRange {
    pub end: String,
    pub start: String,
}

impl Metadata {
    /// The metadata of a data set.
    pub(crate) fn of(data: &Dataset) -> Self {
        Self {
            data_range: DataRange {
                end: LAST_DAY.to_string(),
                start: FIRST_DAY.to_string(),
            },
            note: "Brand names are real; every figure is synthetic and for demonstration only."
                .into(),
            scale: data.scale.as_str().into(),
            seed: data.seed,
            source: "Pi synthetic foot-traffic model over real US ZIP geography".into(),
            synthetic: true,
        }
    }
}
