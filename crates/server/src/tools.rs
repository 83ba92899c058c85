//! The tool registry wiring (the `pi-server tool …` command is in `tool_cli`).

use std::sync::Arc;

use pi_domain::persona::PersonaService;
use pi_domain::persona::tools::{ListPersonasTool, UpdateUserPersonaTool};
use pi_domain::tools::ToolRegistry;
use pi_places::{PlacesData, Scale};

use crate::config::{PlacesScale, Settings};

/// The analytics data-set scale named by `PLACES_SCALE`.
pub fn places_scale(settings: &Settings) -> Scale {
    match settings.places_scale {
        PlacesScale::Small => Scale::Small,
        PlacesScale::Default => Scale::Default,
        PlacesScale::Large => Scale::Large,
    }
}

/// The analytics tools, over a lazily built data set.
pub fn analytics_registry(data: &Arc<PlacesData>) -> ToolRegistry {
    let mut registry = ToolRegistry::new();
    pi_places::register_tools(&mut registry, data);
    registry
}

/// Every tool of the service: analytics and persona tools.
pub fn build_registry(data: &Arc<PlacesData>, personas: &Arc<PersonaService>) -> ToolRegistry {
    let mut registry = analytics_registry(data);
    registry.register(Arc::new(ListPersonasTool(Arc::clone(personas))));
    registry.register(Arc::new(UpdateUserPersonaTool(Arc::clone(personas))));
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 33's trap: an analytics tool added to `pi-places` but not to the Pi agent file
    /// (`domain/assets/pi_agent.af`) was silently left out of every agent (`spec_for` keeps
    /// only the template's tools).
    #[test]
    fn every_analytics_tool_is_in_the_pi_agent_template() {
        let data = PlacesData::new(Scale::Small, 42);
        let template = pi_domain::agent::PiAgentTemplate::builtin().unwrap_or_else(|e| {
            panic!("the built-in template: {e}");
        });
        let missing: Vec<String> = analytics_registry(&data)
            .schemas()
            .into_iter()
            .map(|t| t.name)
            .filter(|name| !template.tools.contains(name))
            .collect();
        assert!(
            missing.is_empty(),
            "tools no agent would get (add them to pi_agent.af): {missing:?}"
        );
    }
}
