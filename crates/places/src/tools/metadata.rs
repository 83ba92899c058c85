//! The metadata every tool output carries: the figures are synthetic, and from which data set.

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::model::{FIRST_DAY, LAST_DAY};

/// Where the figures come from. Fields in alphabetical order (see [`super::Place`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Days with data.
    pub data_range: DataRange,
    /// The imported data set the figures come from (absent: the built-in synthetic set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// What is real and what is not.
    pub note: String,
    /// Synthetic data-set scale (`small`, `default`, `large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// Synthetic data-set seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The model behind the figures.
    pub source: String,
    /// Whether the figures are synthetic (the built-in set) or the customer's own (imported).
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
            dataset: None,
            note: "Brand names are real; every figure is synthetic and for demonstration only."
                .into(),
            scale: Some(data.scale.as_str().into()),
            seed: Some(data.seed),
            source: "Pi synthetic foot-traffic model over real US ZIP geography".into(),
            synthetic: true,
        }
    }
}
