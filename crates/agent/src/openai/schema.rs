//! What OpenAI's function calling accepts in a tool definition, as its documentation states it
//! (function calling and Structured Outputs): a name of 1–64 letters, digits, `_` or `-`; an
//! `object` schema at the top without `oneOf`/`anyOf`/`allOf`/`enum`/`not` there; every object
//! closed with `additionalProperties: false` (strict mode); standard types only; at most 10
//! levels of nesting and 5,000 properties; `required` naming existing properties. Descriptions
//! are kept within 1,024 characters.

use pi_domain::agent::ToolSchema;
use serde_json::Value;

/// Longest tool description kept whole.
pub const MAX_DESCRIPTION: usize = 1024;
const MAX_DEPTH: usize = 10;
const MAX_PROPERTIES: usize = 5000;
const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Every way `schema` breaks those rules; empty when OpenAI accepts it.
pub fn problems(schema: &ToolSchema) -> Vec<String> {
    let mut out = Vec::new();
    let name = &schema.name;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        out.push(format!("{name}: the name must be 1-64 of [a-zA-Z0-9_-]"));
    }
    let chars = schema.description.chars().count();
    if chars == 0 || chars > MAX_DESCRIPTION {
        out.push(format!(
            "{name}: the description has {chars} characters (1-{MAX_DESCRIPTION})"
        ));
    }
    let top = &schema.parameters;
    if top.get("type").and_then(Value::as_str) != Some("object") {
        out.push(format!("{name}: the parameters must be an object schema"));
    }
    for keyword in ["oneOf", "anyOf", "allOf", "enum", "not"] {
        if top.get(keyword).is_some() {
            out.push(format!("{name}: `{keyword}` at the top of the parameters"));
        }
    }
    let mut properties = 0;
    walk(top, name, "parameters", 1, &mut properties, &mut out);
    if properties > MAX_PROPERTIES {
        out.push(format!(
            "{name}: {properties} properties (at most {MAX_PROPERTIES})"
        ));
    }
    out
}

fn walk(
    node: &Value,
    tool: &str,
    at: &str,
    depth: usize,
    properties: &mut usize,
    out: &mut Vec<String>,
) {
    let Some(map) = node.as_object() else {
        return;
    };
    if depth > MAX_DEPTH {
        out.push(format!(
            "{tool}: {at} is nested deeper than {MAX_DEPTH} levels"
        ));
        return;
    }
    let types: Vec<&str> = match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for t in &types {
        if !TYPES.contains(t) {
            out.push(format!("{tool}: {at} has type {t:?}"));
        }
    }
    if types.contains(&"object") {
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            out.push(format!(
                "{tool}: {at} is an object without `additionalProperties: false`"
            ));
        }
        let declared = map.get("properties").and_then(Value::as_object);
        for required in map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !declared.is_some_and(|d| d.contains_key(name)) {
                out.push(format!(
                    "{tool}: {at} requires {name:?}, which it does not declare"
                ));
            }
        }
        for (key, child) in declared.into_iter().flatten() {
            *properties += 1;
            walk(
                child,
                tool,
                &format!("{at}.{key}"),
                depth + 1,
                properties,
                out,
            );
        }
    }
    if let Some(items) = map.get("items") {
        walk(items, tool, &format!("{at}[]"), depth + 1, properties, out);
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for (i, variant) in map
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            walk(
                variant,
                tool,
                &format!("{at}.{keyword}[{i}]"),
                depth,
                properties,
                out,
            );
        }
    }
    for (key, def) in map
        .get("$defs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        walk(
            def,
            tool,
            &format!("{at}.$defs.{key}"),
            depth + 1,
            properties,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(name: &str, parameters: Value) -> ToolSchema {
        ToolSchema {
            name: name.into(),
            description: "Does a thing.".into(),
            parameters,
        }
    }

    #[test]
    fn a_closed_object_schema_passes() {
        let ok = tool(
            "find_places",
            json!({"type": "object", "additionalProperties": false, "required": ["q"],
                   "properties": {"q": {"type": "string"},
                                  "near": {"type": ["object", "null"], "additionalProperties": false,
                                           "properties": {"lat": {"type": "number"}}}}}),
        );
        assert_eq!(problems(&ok), Vec::<String>::new());
    }

    #[test]
    fn each_rule_is_reported() {
        let cases = [
            (
                tool(
                    "bad name!",
                    json!({"type": "object", "additionalProperties": false}),
                ),
                "the name",
            ),
            (tool("t", json!({"type": "array"})), "must be an object"),
            (
                tool(
                    "t",
                    json!({"type": "object", "additionalProperties": false, "anyOf": []}),
                ),
                "`anyOf` at the top",
            ),
            (
                tool("t", json!({"type": "object"})),
                "without `additionalProperties: false`",
            ),
            (
                tool(
                    "t",
                    json!({"type": "object", "additionalProperties": false,
                                 "properties": {"x": {"type": "object"}}}),
                ),
                "parameters.x is an object without",
            ),
            (
                tool(
                    "t",
                    json!({"type": "object", "additionalProperties": false, "required": ["y"]}),
                ),
                "requires \"y\"",
            ),
            (
                tool(
                    "t",
                    json!({"type": "object", "additionalProperties": false,
                                 "properties": {"x": {"type": "date"}}}),
                ),
                "has type \"date\"",
            ),
        ];
        for (schema, says) in cases {
            let found = problems(&schema);
            assert!(found.iter().any(|p| p.contains(says)), "{says}: {found:?}");
        }
        let mut long = tool(
            "t",
            json!({"type": "object", "additionalProperties": false}),
        );
        long.description = "x".repeat(MAX_DESCRIPTION + 1);
        assert!(problems(&long)[0].contains("description"));
    }
}
