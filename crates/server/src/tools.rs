//! The tool registry wiring and the `pi-server tool …` command.

use std::process::ExitCode;
use std::sync::Arc;

use pi_domain::persona::PersonaService;
use pi_domain::persona::tools::{ListPersonasTool, UpdateUserPersonaTool};
use pi_domain::tools::{ToolContext, ToolRegistry};
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

/// `pi-server tool list` prints every analytics tool's schema (persona tools need a database and
/// an agent, so they run only inside the server); `pi-server tool NAME 'JSON'` runs one on the
/// active data set of the configured database and prints its JSON (the built-in set, with a
/// warning, when the database cannot be opened). No server is needed. Exit code 1 on a tool
/// error.
pub fn run_cli(settings: &Settings, name: &str, args: Option<&str>) -> ExitCode {
    let print = |value: &serde_json::Value| match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("pi-server: cannot print the result: {e}"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pi-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scale = places_scale(settings);
    let data = if name == "list" {
        PlacesData::new(scale, settings.places_seed)
    } else {
        match runtime.block_on(crate::startup::connect_and_migrate(settings)) {
            Ok(db) => PlacesData::with_datasets(
                scale,
                settings.places_seed,
                Arc::new(pi_store::SeaOrmDatasetRepo::new(db)),
            ),
            Err(e) => {
                eprintln!("pi-server: no database ({e:#}); answering from the built-in data set");
                PlacesData::new(scale, settings.places_seed)
            }
        }
    };
    let registry = analytics_registry(&data);
    if name == "list" {
        let tools: Vec<serde_json::Value> = registry
            .schemas()
            .into_iter()
            .map(|t| serde_json::json!({"name": t.name, "description": t.description, "parameters": t.parameters}))
            .collect();
        print(&serde_json::json!({ "tools": tools }));
        return ExitCode::SUCCESS;
    }
    let args: serde_json::Value = match serde_json::from_str(args.unwrap_or("{}")) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pi-server: the arguments are not valid JSON: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(registry.call(name, &ToolContext::default(), args)) {
        Ok(output) => {
            print(&output.to_value());
            if output.is_error() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("pi-server: {e}; run `pi-server tool list`");
            ExitCode::from(2)
        }
    }
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
