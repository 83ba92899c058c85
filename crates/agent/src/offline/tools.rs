//! The tools the offline model calls and reads: their names, and the arguments and results of the
//! bookkeeping tools (memory, persona). Analytics types come from `pi_places::tools`.

use pi_places::tools::{
    AnalyticsTool, Audience, ComparePerformance, DistanceBetween, ListMetros, NearbyCompetitors,
    PlaceSummary, SearchPlaces, TradeArea, VisitFlows,
};
use serde::{Deserialize, Serialize};

/// A tool whose result the offline model phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    MemoryAppend,
    PersonaUpdate,
    SearchPlaces,
    PlaceSummary,
    ComparePerformance,
    TradeArea,
    Audience,
    VisitFlows,
    ListMetros,
    NearbyCompetitors,
    DistanceBetween,
    PersonaList,
}

impl Tool {
    const ALL: [Self; 12] = [
        Self::MemoryAppend,
        Self::PersonaUpdate,
        Self::SearchPlaces,
        Self::PlaceSummary,
        Self::ComparePerformance,
        Self::TradeArea,
        Self::Audience,
        Self::VisitFlows,
        Self::ListMetros,
        Self::NearbyCompetitors,
        Self::DistanceBetween,
        Self::PersonaList,
    ];

    /// The name the tool is registered under.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::MemoryAppend => "core_memory_append",
            Self::PersonaUpdate => "update_user_persona_profile_in_db",
            Self::SearchPlaces => SearchPlaces::NAME,
            Self::PlaceSummary => PlaceSummary::NAME,
            Self::ComparePerformance => ComparePerformance::NAME,
            Self::TradeArea => TradeArea::NAME,
            Self::Audience => Audience::NAME,
            Self::VisitFlows => VisitFlows::NAME,
            Self::ListMetros => ListMetros::NAME,
            Self::NearbyCompetitors => NearbyCompetitors::NAME,
            Self::DistanceBetween => DistanceBetween::NAME,
            Self::PersonaList => "list_available_personas",
        }
    }

    /// The tool of this name, if the offline model knows it.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether a tool of this name answers from the foot-traffic data set.
    pub(super) fn is_analytics(name: &str) -> bool {
        !Self::is_bookkeeping(name) && Self::from_name(name) != Some(Self::PersonaList)
    }

    /// Whether a tool of this name only records things about the user (memory, persona).
    pub(super) fn is_bookkeeping(name: &str) -> bool {
        matches!(
            Self::from_name(name),
            Some(Self::MemoryAppend | Self::PersonaUpdate)
        )
    }
}

/// Arguments of `core_memory_append`.
#[derive(Debug, Serialize)]
pub(super) struct MemoryAppendArgs {
    /// Block label.
    pub(super) label: &'static str,
    pub(super) content: String,
}

/// The part of a `core_memory_append` result the model reads.
#[derive(Debug, Deserialize)]
pub(super) struct MemoryEdited {
    /// The block's new value.
    pub(super) value: String,
}

/// Arguments of `update_user_persona_profile_in_db`.
#[derive(Debug, Serialize)]
pub(super) struct PersonaArgs {
    pub(super) persona_handle: String,
    pub(super) confidence_score: f64,
}

/// The part of an `update_user_persona_profile_in_db` result the model reads.
#[derive(Debug, Deserialize)]
pub(super) struct PersonaAssigned {
    pub(super) persona_handle: String,
    pub(super) industry: String,
    pub(super) professional_role: String,
    /// Shown as the tool wrote it.
    pub(super) confidence_score: serde_json::Number,
    /// Agents newly given the persona's shared block.
    pub(super) agents_attached: u64,
    pub(super) agents_already_attached: u64,
}

/// The part of a `list_available_personas` result the model reads.
#[derive(Debug, Deserialize)]
pub(super) struct PersonasListed {
    pub(super) personas: Vec<PersonaListed>,
}

/// One persona of that list.
#[derive(Debug, Deserialize)]
pub(super) struct PersonaListed {
    pub(super) persona_handle: String,
    pub(super) industry: String,
    pub(super) professional_role: String,
    pub(super) description: String,
}
