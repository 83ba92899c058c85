//! What every tool is: typed arguments in, a typed output out, and the JSON plumbing around them.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::dataset::Dataset;

/// How a tool's output becomes JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Through a `serde_json::Value`, so object keys come out sorted (small results).
    Sorted,
    /// Straight from the typed struct, keys in field order (large results, faster).
    Direct,
}

/// One analytics tool, with typed arguments and output.
pub trait AnalyticsTool {
    /// Name the model calls it by.
    const NAME: &'static str;
    /// Description for the model.
    const DESCRIPTION: &'static str;
    /// How the output is encoded.
    const ENCODING: Encoding = Encoding::Sorted;
    /// Arguments; their JSON Schema is the tool's schema.
    type Args: DeserializeOwned + JsonSchema;
    /// Result; every output carries the data set's metadata.
    type Output: Serialize + DeserializeOwned;

    /// Runs the tool, or names the problem.
    fn run(data: &Dataset, args: Self::Args) -> Result<Self::Output, String>;

    /// Example arguments (documentation and tests).
    fn example() -> Value;
}

/// A tool: name, description, argument schema and handler, for callers that speak JSON.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub name: &'static str,
    /// Description for the model.
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub schema: fn() -> Value,
    /// Runs the tool on JSON arguments: the output's JSON text, or a message naming the problem.
    pub run: fn(&Dataset, Value) -> Result<String, String>,
    /// Example arguments (documentation and tests).
    pub example: fn() -> Value,
}

impl ToolSpec {
    /// The JSON face of a typed tool.
    pub const fn of<T: AnalyticsTool>() -> Self {
        Self {
            name: T::NAME,
            description: T::DESCRIPTION,
            schema: schema_of::<T::Args>,
            run: run_encoded::<T>,
            example: T::example,
        }
    }
}

fn run_encoded<T: AnalyticsTool>(data: &Dataset, args: Value) -> Result<String, String> {
    let output = T::run(data, parse(args)?)?;
    let text = match T::ENCODING {
        Encoding::Sorted => serde_json::to_value(&output).map(|v| v.to_string()),
        Encoding::Direct => serde_json::to_string(&output),
    };
    text.map_err(|e| format!("could not encode the {} result: {e}", T::NAME))
}

fn schema_of<T: JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(map) = value.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    value
}

/// Arguments from JSON (`null` is no arguments).
fn parse<T: DeserializeOwned + JsonSchema>(args: Value) -> Result<T, String> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| {
        let mut message = format!("invalid arguments: {e}");
        // serde lists the expected fields, except where the arguments flatten a shared type
        // (dates): name them from the schema then.
        if message.contains("unknown field `") && !message.contains(", ") {
            let schema = schema_of::<T>();
            if let Some(fields) = schema["properties"].as_object() {
                let fields: Vec<String> = fields.keys().map(|k| format!("`{k}`")).collect();
                message.push_str(&format!(", expected one of {}", fields.join(", ")));
            }
        }
        message
    })
}
