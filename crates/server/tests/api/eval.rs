//! The public evaluation of the offline model (`cargo xtask eval`): the conversations in
//! `eval/questions.json`, asked through the HTTP API of the real app (embedded runtime, no LLM,
//! the default 100k-place data set, SQLite), each turn scored against its checks:
//!
//! - `tools`: every tool named was called in that turn;
//! - `contains` / `absent`: phrases the answer has / must not have (case-insensitive);
//! - numbers: every figure of four or more digits in an answer of an analytics turn is in that
//!   turn's tool output — as written, rounded, or a total of its rows (a brand's visits over its
//!   places): numbers are never invented;
//! - `memory`: the user's `human` memory block then holds the phrase;
//! - `persona`: the user's persona is then this handle.
//!
//! Prints a score per category and overall; fails below 90 % overall or 75 % in a category.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::helpers::{AgentMode, TestApp, block, memory};

/// One conversation of the question set.
#[derive(Debug, Deserialize)]
struct Conversation {
    category: String,
    turns: Vec<Turn>,
}

/// One question and what its answer must show.
#[derive(Debug, Deserialize)]
struct Turn {
    ask: String,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    memory: Option<String>,
    #[serde(default)]
    persona: Option<String>,
}

const ANALYTICS: &[&str] = &[
    "search_places",
    "get_place_summary",
    "compare_performance",
    "get_trade_area_profile",
    "get_audience_profile",
    "get_visit_flows",
    "nearby_competitors",
    "distance_between",
];

/// Figures of four or more digits (`1,728,962`, `274799`), without separators.
fn figures(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let separator =
            *c == ',' && !current.is_empty() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() {
            current.push(*c);
        } else if !separator {
            if current.len() >= 4 {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if current.len() >= 4 {
        out.push(current);
    }
    out
}

/// The numbers of a tool output, and the totals its rows add up to: per numeric field, over all
/// rows and per value of each text field (a brand's visits over its places).
fn numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Array(items) => {
            for item in items {
                numbers(item, out);
            }
            let rows: Vec<&serde_json::Map<String, Value>> =
                items.iter().filter_map(Value::as_object).collect();
            let Some(first) = rows.first() else { return };
            for (field, v) in first.iter() {
                if !v.is_number() {
                    continue;
                }
                let of = |r: &serde_json::Map<String, Value>| {
                    r.get(field).and_then(Value::as_f64).unwrap_or(0.0)
                };
                out.push(rows.iter().map(|r| of(r)).sum());
                for (key, k) in first.iter() {
                    if !k.is_string() {
                        continue;
                    }
                    let mut groups: BTreeMap<&str, f64> = BTreeMap::new();
                    for r in &rows {
                        let group = r.get(key).and_then(Value::as_str).unwrap_or("");
                        *groups.entry(group).or_default() += of(r);
                    }
                    out.extend(groups.into_values());
                }
            }
        }
        Value::Object(map) => {
            for v in map.values() {
                numbers(v, out);
            }
        }
        _ => {}
    }
}

/// What is wrong with the answer to `turn` (empty: it passes).
async fn check(app: &TestApp, token: &str, turn: &Turn, exchange: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let answer = exchange["assistant_message"]["content"]
        .as_str()
        .unwrap_or_default();
    let lower = answer.to_lowercase();
    let steps = exchange["steps"].as_array().cloned().unwrap_or_default();
    let called: Vec<&str> = steps
        .iter()
        .filter(|s| s["type"] == "tool_call")
        .filter_map(|s| s["name"].as_str())
        .collect();
    for tool in &turn.tools {
        if !called.contains(&tool.as_str()) {
            problems.push(format!("{tool} not called (called {called:?})"));
        }
    }
    for phrase in &turn.contains {
        if !lower.contains(&phrase.to_lowercase()) {
            problems.push(format!("answer lacks {phrase:?}"));
        }
    }
    for phrase in &turn.absent {
        if lower.contains(&phrase.to_lowercase()) {
            problems.push(format!("answer has {phrase:?}"));
        }
    }
    if called.iter().any(|c| ANALYTICS.contains(c)) {
        let outputs: Vec<&str> = steps
            .iter()
            .filter(|s| s["type"] == "tool_return")
            .filter_map(|s| s["output"].as_str())
            .collect();
        let mut known = Vec::new();
        for output in &outputs {
            numbers(
                &serde_json::from_str(output).unwrap_or_default(),
                &mut known,
            );
        }
        for n in figures(answer) {
            let rounded = n.parse::<f64>().unwrap_or(f64::NAN);
            let from_output = outputs.iter().any(|o| o.contains(&n))
                || known.iter().any(|x| x.round() == rounded);
            if !from_output {
                problems.push(format!("figure {n} is in no tool output"));
            }
        }
    }
    if let Some(fact) = &turn.memory {
        let blocks = memory(app, token).await;
        let human = block(&blocks, "human")["value"]
            .as_str()
            .unwrap_or_default();
        if !human.to_lowercase().contains(&fact.to_lowercase()) {
            problems.push(format!("human block lacks {fact:?}"));
        }
    }
    if let Some(handle) = &turn.persona {
        let me = app.me_json(token).await;
        if me["persona_handle"] != handle.as_str() {
            problems.push(format!("persona is {} not {handle}", me["persona_handle"]));
        }
    }
    problems
}

async fn evaluate(app: TestApp) {
    let set: Vec<Conversation> = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../eval/questions.json"
    )))
    .expect("eval/questions.json is a list of conversations");
    // (passed, asked) per category.
    let mut scores: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, conversation) in set.iter().enumerate() {
        let token = app.signup_token(&format!("eval{i}@example.com")).await;
        let conv = app.conversation_id(&token).await;
        for turn in &conversation.turns {
            let response = app.send_message(&token, &conv, &turn.ask).await;
            let status = response.status();
            let exchange: Value = response.json().await.unwrap_or_default();
            let problems = if status == 201 {
                check(&app, &token, turn, &exchange).await
            } else {
                vec![format!("HTTP {status}: {exchange}")]
            };
            let score = scores.entry(&conversation.category).or_default();
            score.1 += 1;
            if problems.is_empty() {
                score.0 += 1;
            } else {
                failures.push(format!(
                    "[{}] {:?}: {}\n    answer: {}",
                    conversation.category,
                    turn.ask,
                    problems.join("; "),
                    exchange["assistant_message"]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .replace('\n', " | ")
                ));
            }
        }
    }
    let (passed, asked) = scores
        .values()
        .fold((0, 0), |(p, a), (sp, sa)| (p + sp, a + sa));
    let pct = |p: usize, a: usize| 100.0 * p as f64 / a.max(1) as f64;
    println!("\n| category | passed | score |\n|---|---|---|");
    for (category, (p, a)) in &scores {
        println!("| {category} | {p}/{a} | {:.0} % |", pct(*p, *a));
    }
    println!(
        "| **overall** | **{passed}/{asked}** | **{:.1} %** |\n",
        pct(passed, asked)
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(asked >= 60, "the question set has {asked} questions");
    assert!(
        pct(passed, asked) >= 90.0,
        "overall {:.1} % < 90 %",
        pct(passed, asked)
    );
    for (category, (p, a)) in &scores {
        assert!(pct(*p, *a) >= 75.0, "{category}: {p}/{a} < 75 %");
    }
}

/// The question set against the offline model, through the HTTP API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_model_passes_the_public_evaluation() {
    crate::helpers::run_configured(
        pi_store::Engine::Sqlite,
        AgentMode::Embedded { llm_base_url: None },
        |s| s.places_scale = pi_server::config::PlacesScale::Default,
        evaluate,
    )
    .await;
}

#[test]
fn figures_are_read_with_their_separators() {
    assert_eq!(
        figures(
            "Starbucks — 1,728,962 visits/yr across 8 locations in 2025; 274799 [place:159], 12.6 km"
        ),
        ["1728962", "2025", "274799"]
    );
}

#[test]
fn totals_of_rows_count_as_tool_output() {
    let output = serde_json::json!({"places": [
        {"name": "Starbucks", "annual_visits": 100.4},
        {"name": "Dunkin'", "annual_visits": 50},
        {"name": "Starbucks", "annual_visits": 200}
    ]});
    let mut known = Vec::new();
    numbers(&output, &mut known);
    for expected in [100.4, 50.0, 200.0, 350.4, 300.4] {
        assert!(known.contains(&expected), "{expected} in {known:?}");
    }
}
