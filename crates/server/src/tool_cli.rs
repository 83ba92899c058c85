//! `pi-server tool list` and `pi-server tool NAME 'JSON'`: the analytics tools from a shell.

use std::process::ExitCode;
use std::sync::Arc;

use pi_domain::tools::ToolContext;
use pi_places::PlacesData;

use crate::config::Settings;
use crate::tools::{analytics_registry, places_scale};

/// `pi-server tool list` prints every analytics tool's schema (persona tools need a database and
/// an agent, so they run only inside the server); `pi-server tool NAME 'JSON'` runs one on the
/// active data set of the configured database and prints its JSON (the built-in set, with a
/// warning, when the database cannot be opened). No server is needed. Exit code 1 on a tool
/// error. `repeat`: that many more calls are timed after the first (which loads the data set),
/// their p50 and p90 printed to stderr, with the loaded set's index size.
pub fn run(settings: &Settings, name: &str, args: Option<&str>, repeat: Option<u32>) -> ExitCode {
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
    match runtime.block_on(registry.call(name, &ToolContext::default(), args.clone())) {
        Ok(output) => {
            print(&output.to_value());
            if let Some((set, places, bytes)) = data.loaded_set() {
                eprintln!("index of `{set}`: {places} places, {bytes:.1} bytes a place");
            }
            if let Some(n) = repeat.filter(|n| *n > 0) {
                let mut times = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let started = std::time::Instant::now();
                    let _ = runtime.block_on(registry.call(
                        name,
                        &ToolContext::default(),
                        args.clone(),
                    ));
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                times.sort_by(f64::total_cmp);
                let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
                eprintln!(
                    "p50 {:.3} ms, p90 {:.3} ms over {n} calls",
                    at(0.5),
                    at(0.9)
                );
            }
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
