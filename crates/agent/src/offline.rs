//! The offline model (SPEC §7.3): a deterministic stand-in for an LLM, used when no
//! `LLM_BASE_URL` is configured.
//!
//! It is not a language model. It recognises a handful of intents in the user's text — analytics
//! questions (busiest places or chains in a city, summaries, comparisons of brands, trade areas,
//! audiences, visit flows, covered metros) and personal facts ("my name is…", "I like…") —
//! extracts brands, categories, cities and years, calls the same tools a real model would, and
//! phrases the answer from the tools' JSON, always saying which tools it used.

use async_trait::async_trait;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LanguageModel, LlmMessage, ToolCall};
use pi_domain::agent::{AgentError, Usage};
use pi_places::catalog::{CHAINS, Category, METROS};
use serde_json::{Value, json};

/// The offline model.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Busiest,
    Summary,
    Compare,
    TradeArea,
    Audience,
    Flows,
    Metros,
}

#[derive(Debug, Clone)]
struct Query {
    intent: Intent,
    brands: Vec<(&'static str, &'static str)>,
    categories: Vec<Category>,
    metro: Option<(&'static str, &'static str)>,
    year: Option<i32>,
    wants_chains: bool,
}

fn normalise(text: &str) -> String {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        " {} ",
        cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

fn has(text: &str, phrase: &str) -> bool {
    text.contains(&format!(" {phrase} "))
}

const CATEGORY_WORDS: &[(&str, Category)] = &[
    ("coffee", Category::Coffee),
    ("cafe", Category::Coffee),
    ("cafes", Category::Coffee),
    ("fast food", Category::Qsr),
    ("qsr", Category::Qsr),
    ("burger", Category::Qsr),
    ("burgers", Category::Qsr),
    ("fast casual", Category::FastCasual),
    ("grocery", Category::Grocery),
    ("groceries", Category::Grocery),
    ("supermarket", Category::Grocery),
    ("supermarkets", Category::Grocery),
    ("gym", Category::Fitness),
    ("gyms", Category::Fitness),
    ("fitness", Category::Fitness),
    ("cinema", Category::Cinema),
    ("cinemas", Category::Cinema),
    ("movie", Category::Cinema),
    ("movies", Category::Cinema),
    ("theaters", Category::Cinema),
    ("mall", Category::Mall),
    ("malls", Category::Mall),
    ("pharmacy", Category::Pharmacy),
    ("pharmacies", Category::Pharmacy),
    ("drugstore", Category::Pharmacy),
    ("convenience", Category::Convenience),
    ("gas station", Category::Convenience),
    ("bar", Category::Bar),
    ("bars", Category::Bar),
    ("pub", Category::Bar),
    ("pubs", Category::Bar),
    ("golf", Category::Golf),
    ("big box", Category::BigBox),
    ("wholesale", Category::WholesaleClub),
    ("warehouse club", Category::WholesaleClub),
    ("home improvement", Category::HomeImprovement),
    ("hardware", Category::HomeImprovement),
];

fn parse_query(text: &str) -> Option<Query> {
    let t = normalise(text);
    let mut brands = Vec::new();
    for c in CHAINS {
        let name = normalise(c.name);
        let slug = normalise(&c.slug.replace('-', " "));
        if t.contains(name.as_str()) || t.contains(slug.as_str()) {
            brands.push((c.slug, c.name));
        }
    }
    let mut categories = Vec::new();
    for (word, cat) in CATEGORY_WORDS {
        if has(&t, word) && !categories.contains(cat) {
            categories.push(*cat);
        }
    }
    let metro = METROS
        .iter()
        .filter(|m| t.contains(normalise(m.name).as_str()))
        .max_by_key(|m| m.name.len())
        .map(|m| (m.slug, m.name));
    let year = ["2023", "2024", "2025"]
        .iter()
        .find(|y| has(&t, y))
        .and_then(|y| y.parse().ok());
    let any = |words: &[&str]| words.iter().any(|w| has(&t, w));
    let intent = if any(&["metros", "markets", "cities do you cover"])
        && brands.is_empty()
        && categories.is_empty()
    {
        Intent::Metros
    } else if brands.len() >= 2 && any(&["compare", "vs", "versus", "against", "or"]) {
        Intent::Compare
    } else if any(&["trade area", "come from", "live", "home zips", "drive from"]) {
        Intent::TradeArea
    } else if any(&[
        "audience",
        "demographic",
        "demographics",
        "who visits",
        "income",
        "customers like",
    ]) {
        Intent::Audience
    } else if any(&[
        "before",
        "after",
        "journey",
        "journeys",
        "cross shop",
        "flows",
        "also visit",
    ]) {
        Intent::Flows
    } else if any(&[
        "summary",
        "how many visits",
        "foot traffic",
        "traffic at",
        "perform",
        "performance",
        "visits to",
        "how busy",
    ]) && !brands.is_empty()
    {
        Intent::Summary
    } else if !brands.is_empty() || !categories.is_empty() {
        Intent::Busiest
    } else {
        return None;
    };
    Some(Query {
        intent,
        brands,
        categories,
        metro,
        year,
        wants_chains: any(&["chain", "chains", "brand", "brands"]),
    })
}

/// Personal facts stated by the user, as lines for the `human` block.
fn personal_facts(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut facts = Vec::new();
    let words_after = |marker: &str| -> Option<String> {
        let at = lower.find(marker)? + marker.len();
        let rest = &text[at..];
        let end = rest
            .find(['.', ',', '!', '?', ';', '\n'])
            .unwrap_or(rest.len());
        let mut phrase = rest[..end].trim().to_owned();
        for stop in [" and i ", " and my ", " but "] {
            if let Some(i) = phrase.to_lowercase().find(stop) {
                phrase.truncate(i);
            }
        }
        let phrase = phrase.trim().chars().take(80).collect::<String>();
        (!phrase.is_empty()).then_some(phrase)
    };
    if let Some(name) = words_after("my name is ").or_else(|| words_after("call me ")) {
        let name: Vec<&str> = name
            .split_whitespace()
            .take_while(|w| {
                w.chars().next().is_some_and(char::is_alphabetic)
                    && !matches!(w.to_lowercase().as_str(), "and" | "i" | "but")
            })
            .take(3)
            .collect();
        if !name.is_empty() {
            facts.push(format!("Name: {}", name.join(" ")));
        }
    }
    for (marker, label) in [
        ("i like ", "Likes"),
        ("i love ", "Likes"),
        ("i enjoy ", "Likes"),
        ("i prefer ", "Prefers"),
    ] {
        if let Some(what) = words_after(marker) {
            facts.push(format!("{label}: {what}"));
        }
    }
    facts
}

const INDUSTRIES: &[(&str, &str)] = &[
    ("qsr", "qsr"),
    ("quick service", "qsr"),
    ("fast food", "qsr"),
    ("restaurant chain", "qsr"),
    ("tobacco", "tobacco"),
    ("cpg", "cpg"),
    ("consumer packaged", "cpg"),
    ("reit", "retail_reit"),
    ("mall", "mall"),
    ("malls", "mall"),
    ("grocery", "grocery"),
    ("supermarket", "grocery"),
    ("fitness", "fitness"),
    ("gym", "fitness"),
    ("cinema", "cinema"),
    ("movie theater", "cinema"),
    ("theater chain", "cinema"),
    ("city", "municipal"),
    ("county", "municipal"),
    ("municipal", "municipal"),
];

const ROLES: &[(&str, &str)] = &[
    ("real estate", "real_estate"),
    ("consumer insights", "consumer_insights"),
    ("insights", "consumer_insights"),
    ("asset management", "asset_management"),
    ("asset manager", "asset_management"),
    ("leasing", "leasing"),
    ("site selection", "site_selection"),
    ("franchise development", "franchise_development"),
    ("programming", "programming"),
    ("economic development", "economic_development"),
    ("marketing", "marketing"),
];

/// A persona handle from statements like "I lead real estate for a QSR chain".
fn persona_statement(text: &str) -> Option<String> {
    let t = normalise(text);
    let about_me = [
        "i lead", "i work", "i m", "im", "i am", "i run", "i head", "my role", "i manage", "i do",
    ]
    .iter()
    .any(|p| t.contains(&format!(" {p} ")));
    if !about_me {
        return None;
    }
    let role = ROLES.iter().find(|(w, _)| has(&t, w)).map(|(_, r)| *r)?;
    // "economic development" at a city: the role names the industry too.
    let industry = INDUSTRIES
        .iter()
        .find(|(w, _)| has(&t, w))
        .map(|(_, i)| *i)
        .or((role == "economic_development").then_some("municipal"))?;
    Some(format!("{industry}_{role}"))
}

fn is_question(text: &str) -> bool {
    let t = normalise(text);
    text.contains('?')
        || [
            "which", "what", "how", "where", "who", "compare", "show", "list",
        ]
        .iter()
        .any(|w| t.starts_with(&format!(" {w} ")))
}

fn call(id: usize, name: &str, args: Value) -> ToolCall {
    ToolCall {
        id: format!("offline_{id}_{name}"),
        name: name.to_owned(),
        arguments: args.to_string(),
    }
}

fn dates(q: &Query) -> (String, String) {
    let y = q.year.unwrap_or(2025);
    (format!("{y}-01-01"), format!("{y}-12-31"))
}

fn geo(q: &Query) -> Value {
    match q.metro {
        Some((slug, _)) => json!({"type": "metro", "name": format!("metro:{slug}")}),
        None => {
            json!({"type": "bounding_box", "min_lat": 18.0, "min_lon": -160.0, "max_lat": 50.0, "max_lon": -66.0})
        }
    }
}

fn first_calls(q: &Query) -> Vec<ToolCall> {
    let (start, end) = dates(q);
    let metro = q.metro.map(|(slug, _)| format!("metro:{slug}"));
    match q.intent {
        Intent::Metros => vec![call(0, "list_metros", json!({}))],
        Intent::Compare => {
            let entities: Vec<Value> = q
                .brands
                .iter()
                .map(|(slug, _)| {
                    let mut e = json!({"type": "chain", "id": format!("chain:{slug}")});
                    if let Some(m) = &metro {
                        e["metro"] = json!(m);
                    }
                    e
                })
                .collect();
            vec![call(
                0,
                "compare_performance",
                json!({"entities": entities, "start_date": start, "end_date": end, "metric": "visits"}),
            )]
        }
        Intent::Audience if q.brands.len() == 1 => {
            let mut e = json!({"type": "chain", "id": format!("chain:{}", q.brands[0].0)});
            if let Some(m) = &metro {
                e["metro"] = json!(m);
            }
            vec![call(
                0,
                "get_audience_profile",
                json!({"entities": [e], "start_date": start, "end_date": end}),
            )]
        }
        _ => {
            let mut args =
                json!({"geo": geo(q), "limit": if q.intent == Intent::Busiest { 100 } else { 5 }});
            if !q.categories.is_empty() {
                args["categories"] = q.categories.iter().map(|c| c.as_str()).collect();
            }
            if !q.brands.is_empty() {
                args["chains"] = q.brands.iter().map(|(s, _)| format!("chain:{s}")).collect();
            }
            vec![call(0, "search_places", args)]
        }
    }
}

fn follow_up(q: &Query, search: &Value) -> Option<ToolCall> {
    let id = search.pointer("/places/0/id")?.as_str()?.to_owned();
    let (start, end) = dates(q);
    Some(match q.intent {
        Intent::Summary => call(
            1,
            "get_place_summary",
            json!({"place_ids": [id], "start_date": start, "end_date": end, "granularity": "month", "include_benchmark": true}),
        ),
        Intent::TradeArea => call(
            1,
            "get_trade_area_profile",
            json!({"place_ids": [id], "start_date": start, "end_date": end}),
        ),
        Intent::Audience => call(
            1,
            "get_audience_profile",
            json!({"entities": [{"type": "place", "id": id}], "start_date": start, "end_date": end}),
        ),
        Intent::Flows => call(
            1,
            "get_visit_flows",
            json!({"origin_place_ids": [id], "start_date": start, "end_date": end, "group_by": "category"}),
        ),
        _ => return None,
    })
}

fn thousands(n: f64) -> String {
    let n = n.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn place_line(p: &Value) -> String {
    let mut line = format!(
        "{} ({}, {}, {} {}) — {} visits/yr",
        p["name"].as_str().unwrap_or("?"),
        p["address"].as_str().unwrap_or(""),
        p["city"].as_str().unwrap_or(""),
        p["state"].as_str().unwrap_or(""),
        p["zip"].as_str().unwrap_or(""),
        thousands(p["annual_visits"].as_f64().unwrap_or(0.0)),
    );
    if let Some(d) = p["distance_km"].as_f64() {
        line.push_str(&format!(", {d:.1} km away"));
    }
    line.push_str(&format!(" [{}]", p["id"].as_str().unwrap_or("")));
    line
}

fn where_(q: &Query) -> String {
    q.metro.map_or_else(
        || "across the covered U.S. metros".to_owned(),
        |(_, name)| format!("in the {name} metro"),
    )
}

fn describe(q: Option<&Query>, name: &str, result: &Value) -> String {
    if let Some(e) = result.get("error").and_then(Value::as_str) {
        return format!("The {name} tool could not answer: {e}.");
    }
    match name {
        "core_memory_append" => format!(
            "I've noted this in your profile so I remember it next time:\n{}",
            result["value"]
                .as_str()
                .unwrap_or("")
                .lines()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        ),
        "update_user_persona_profile_in_db" => format!(
            "I've recorded your professional persona as {} (industry: {}, role: {}; confidence {}). I now share the {}_service_experience memory with the other agents serving this persona ({} agent(s) updated), so lessons learned serving people like you carry over — never personal details.",
            result["persona_handle"].as_str().unwrap_or("?"),
            result["industry"].as_str().unwrap_or("?").replace('_', " "),
            result["professional_role"]
                .as_str()
                .unwrap_or("?")
                .replace('_', " "),
            result["confidence_score"],
            result["persona_handle"].as_str().unwrap_or("?"),
            result["agents_attached"].as_u64().unwrap_or(0)
                + result["agents_already_attached"].as_u64().unwrap_or(0),
        ),
        "search_places" => {
            let places = result["places"].as_array().cloned().unwrap_or_default();
            let total = result["total"].as_u64().unwrap_or(0);
            if places.is_empty() {
                return "I found no matching places.".into();
            }
            let what = q.map_or("places".to_owned(), |q| {
                let mut parts: Vec<String> = q.brands.iter().map(|b| b.1.to_owned()).collect();
                parts.extend(q.categories.iter().map(|c| c.as_str().replace('_', " ")));
                if parts.is_empty() {
                    "places".into()
                } else {
                    format!("{} locations", parts.join(" / "))
                }
            });
            let scope = q.map_or_else(String::new, where_);
            let mut text = format!("I found {total} {what} {scope}.");
            if q.is_some_and(|q| q.wants_chains) {
                let mut chains: Vec<(String, f64, usize)> = Vec::new();
                for p in &places {
                    let name = p["name"].as_str().unwrap_or("?").to_owned();
                    let v = p["annual_visits"].as_f64().unwrap_or(0.0);
                    match chains.iter_mut().find(|c| c.0 == name) {
                        Some(c) => {
                            c.1 += v;
                            c.2 += 1;
                        }
                        None => chains.push((name, v, 1)),
                    }
                }
                chains.sort_by(|a, b| b.1.total_cmp(&a.1));
                text.push_str(" Busiest brands by total annual visits among the top locations:");
                for (i, (name, visits, n)) in chains.iter().take(5).enumerate() {
                    text.push_str(&format!(
                        "\n{}. {name} — {} visits/yr across {n} location{}",
                        i + 1,
                        thousands(*visits),
                        if *n == 1 { "" } else { "s" }
                    ));
                }
                text.push_str("\nBusiest single locations:");
            } else {
                text.push_str(" The busiest:");
            }
            for (i, p) in places.iter().take(5).enumerate() {
                text.push_str(&format!("\n{}. {}", i + 1, place_line(p)));
            }
            text
        }
        "get_place_summary" => {
            let p = &result["places"][0];
            let mut text = format!(
                "{} at {}, {}: {} visits from {} to {} ({} per day), about {} unique visitors (each visiting {:.1} times), median dwell {} min.",
                p["place"]["name"].as_str().unwrap_or("?"),
                p["place"]["address"].as_str().unwrap_or(""),
                p["place"]["city"].as_str().unwrap_or(""),
                thousands(p["visits"]["total"].as_f64().unwrap_or(0.0)),
                result["start_date"].as_str().unwrap_or(""),
                result["end_date"].as_str().unwrap_or(""),
                thousands(p["visits"]["daily_average"].as_f64().unwrap_or(0.0)),
                thousands(p["visitors"].as_f64().unwrap_or(0.0)),
                p["visit_frequency"].as_f64().unwrap_or(0.0),
                p["dwell"]["median_minutes"].as_f64().unwrap_or(0.0),
            );
            if let Some(yoy) = p["trend"]["yoy_change_pct"].as_f64() {
                text.push_str(&format!(" Year over year: {yoy:+.1}%."));
            }
            if let Some(index) = p["benchmark"]["index"].as_f64() {
                text.push_str(&format!(" Benchmark index vs the same category in its metro: {index:.0} (100 = average)."));
            }
            text
        }
        "compare_performance" => {
            let mut text = format!(
                "Visits from {} to {}, ranked:",
                result["start_date"].as_str().unwrap_or(""),
                result["end_date"].as_str().unwrap_or("")
            );
            let series = result["series"].as_array().cloned().unwrap_or_default();
            for r in result["rankings"][0]["ranked"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let entity = r["entity"].as_str().unwrap_or("");
                let s = series.iter().find(|s| s["entity"] == entity);
                text.push_str(&format!(
                    "\n{}. {} — {} visits across {} locations ({} per location)",
                    r["rank"],
                    s.and_then(|s| s["name"].as_str()).unwrap_or(entity),
                    thousands(r["value"].as_f64().unwrap_or(0.0)),
                    s.and_then(|s| s["place_count"].as_u64()).unwrap_or(0),
                    thousands(
                        s.and_then(|s| s["visits_per_place"].as_f64())
                            .unwrap_or(0.0)
                    ),
                ));
            }
            text
        }
        "get_trade_area_profile" => {
            let p = &result["profiles"][0];
            let mut text = format!(
                "Trade area of {}: median visitor travel distance {:.1} km; {} home ZIPs contribute visits.",
                p["place_name"].as_str().unwrap_or("?"),
                p["median_distance_km"].as_f64().unwrap_or(0.0),
                p["home_zip_count"].as_u64().unwrap_or(0),
            );
            for u in p["geo_units"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .take(3)
            {
                text.push_str(&format!(
                    "\n- ZIP {} ({}): {:.1}% of visits, {:.1} km away",
                    u["id"].as_str().unwrap_or(""),
                    u["name"].as_str().unwrap_or(""),
                    u["share"].as_f64().unwrap_or(0.0) * 100.0,
                    u["distance_km"].as_f64().unwrap_or(0.0)
                ));
            }
            text
        }
        "get_audience_profile" => {
            let p = &result["profiles"][0];
            let mut segments = p["dimensions"]["lifestyle"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            segments.sort_by(|a, b| {
                b["index"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&a["index"].as_f64().unwrap_or(0.0))
            });
            let mut text = format!(
                "Audience of {}: the most over-represented lifestyle segments (index vs U.S. = 100):",
                p["name"].as_str().unwrap_or("?")
            );
            for s in segments.iter().take(3) {
                text.push_str(&format!(
                    "\n- {}: {:.0}% of visitors, index {}",
                    s["segment"].as_str().unwrap_or(""),
                    s["share"].as_f64().unwrap_or(0.0) * 100.0,
                    s["index"]
                ));
            }
            if let Some(rich) = p["dimensions"]["income"].as_array().and_then(|a| a.last()) {
                text.push_str(&format!(
                    "\nHouseholds earning $150k+: {:.0}% (index {}).",
                    rich["share"].as_f64().unwrap_or(0.0) * 100.0,
                    rich["index"]
                ));
            }
            text
        }
        "get_visit_flows" => {
            let r = &result["results"][0];
            let mut text = format!(
                "Where visitors of {} go within two hours:",
                r["origin"]["name"].as_str().unwrap_or("?")
            );
            for (dir, label) in [("before", "Before"), ("after", "After")] {
                let flows = r[dir]["flows"].as_array().cloned().unwrap_or_default();
                if !flows.is_empty() {
                    text.push_str(&format!("\n{label}: "));
                    text.push_str(
                        &flows
                            .iter()
                            .take(3)
                            .map(|f| {
                                format!(
                                    "{} ({:.1}% of visits)",
                                    f["name"].as_str().unwrap_or(""),
                                    f["share_of_origin_visits"].as_f64().unwrap_or(0.0) * 100.0
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
            }
            text
        }
        "list_metros" => {
            let metros = result["metros"].as_array().cloned().unwrap_or_default();
            format!(
                "I cover {} U.S. metros, the largest being {}.",
                metros.len(),
                metros
                    .iter()
                    .take(5)
                    .map(|m| m["name"].as_str().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        other => format!("{other} returned data."),
    }
}

const HELP: &str = "I'm Pi, running in offline mode (no language model is configured, so I follow simple rules rather than understanding everything). I can answer questions such as: \"Which coffee chains are busiest in Austin?\", \"Compare Starbucks vs Dunkin' in Boston\", \"Foot traffic summary for Chick-fil-A in Dallas in 2024\", \"Trade area of the Costco in Denver\", \"Audience of Topgolf\", \"Where do visitors of the Target in Phoenix go after?\", or \"Which metros do you cover?\". Tell me about yourself (\"My name is…\", \"I prefer…\") and I'll remember it.";

fn plan(request: &ChatRequest) -> ChatResponse {
    let last_user = request
        .messages
        .iter()
        .rposition(|m| matches!(m, LlmMessage::User(_)));
    let Some(u) = last_user else {
        return ChatResponse {
            content: Some(HELP.into()),
            ..Default::default()
        };
    };
    let LlmMessage::User(text) = &request.messages[u] else {
        return ChatResponse {
            content: Some(HELP.into()),
            ..Default::default()
        };
    };
    let query = parse_query(text);
    let results: Vec<(String, Value)> = request.messages[u + 1..]
        .iter()
        .filter_map(|m| match m {
            LlmMessage::Tool { name, content, .. } => Some((
                name.clone(),
                serde_json::from_str(content).unwrap_or(Value::Null),
            )),
            _ => None,
        })
        .collect();
    let available = |name: &str| request.tools.iter().any(|t| t.name == name);
    if results.is_empty() {
        let mut calls = Vec::new();
        let facts = personal_facts(text);
        if !facts.is_empty() && available("core_memory_append") {
            calls.push(call(
                9,
                "core_memory_append",
                json!({"label": "human", "content": facts.join("\n")}),
            ));
        }
        let persona = persona_statement(text);
        if let Some(handle) = &persona
            && available("update_user_persona_profile_in_db")
        {
            calls.push(call(
                8,
                "update_user_persona_profile_in_db",
                json!({"persona_handle": handle, "confidence_score": 0.9}),
            ));
        }
        if let Some(q) = &query
            && (persona.is_none() || is_question(text))
        {
            calls.extend(first_calls(q).into_iter().filter(|c| available(&c.name)));
        }
        if calls.is_empty() {
            return ChatResponse {
                content: Some(HELP.into()),
                ..Default::default()
            };
        }
        return ChatResponse {
            reasoning: Some(format!(
                "Offline model: {} tool call(s) planned from the message's keywords.",
                calls.len()
            )),
            tool_calls: calls,
            usage: Usage {
                step_count: 1,
                ..Usage::default()
            },
            ..Default::default()
        };
    }
    // A place-based question needs a second tool once the search found the place.
    if let Some(q) = &query
        && results.len()
            == 1 + results
                .iter()
                .filter(|r| {
                    r.0 == "core_memory_append" || r.0 == "update_user_persona_profile_in_db"
                })
                .count()
        && let Some((_, search)) = results.iter().find(|r| r.0 == "search_places")
        && let Some(next) = follow_up(q, search)
        && available(&next.name)
    {
        return ChatResponse {
            tool_calls: vec![next],
            usage: Usage {
                step_count: 1,
                ..Usage::default()
            },
            ..Default::default()
        };
    }
    // Phrase the answer: the most specific result first, then the rest.
    let mut parts: Vec<String> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    let bookkeeping =
        |n: &str| n == "core_memory_append" || n == "update_user_persona_profile_in_db";
    let specific = results
        .iter()
        .any(|r| r.0 != "search_places" && !bookkeeping(&r.0));
    for (name, value) in &results {
        if !used.contains(name) {
            used.push(name.clone());
        }
        if specific && name == "search_places" && value.get("error").is_none() {
            continue;
        }
        parts.push(describe(query.as_ref(), name, value));
    }
    let analytics = used.iter().any(|n| !bookkeeping(n));
    let mut text = parts.join("\n\n");
    text.push_str(&format!(
        "\n\n(Tools used: {}.{})",
        used.join(", "),
        if analytics {
            " Figures come from Pi's synthetic foot-traffic data set."
        } else {
            ""
        }
    ));
    ChatResponse {
        content: Some(text),
        usage: Usage {
            step_count: 1,
            ..Usage::default()
        },
        ..Default::default()
    }
}

impl OfflineModel {
    /// The model's answer to a request (what [`LanguageModel::complete`] returns).
    pub fn answer(&self, request: &ChatRequest) -> ChatResponse {
        plan(request)
    }
}

#[async_trait]
impl LanguageModel for OfflineModel {
    fn describe(&self) -> String {
        "offline (deterministic stand-in; set LLM_BASE_URL for a real model)".into()
    }

    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, AgentError> {
        Ok(self.answer(&request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_entities_and_intents() {
        let q = parse_query("Which coffee chains are busiest in Austin?").unwrap();
        assert_eq!(q.intent, Intent::Busiest);
        assert_eq!(q.categories, vec![Category::Coffee]);
        assert_eq!(q.metro.unwrap().0, "austin");
        assert!(q.wants_chains);
        let q = parse_query("Compare Starbucks vs Dunkin' in Boston for 2024").unwrap();
        assert_eq!(q.intent, Intent::Compare);
        assert_eq!(q.brands.len(), 2);
        assert_eq!(q.year, Some(2024));
        assert_eq!(
            parse_query("What's the trade area of the Costco in Denver?")
                .unwrap()
                .intent,
            Intent::TradeArea
        );
        assert_eq!(
            parse_query("Who visits Topgolf? audience please")
                .unwrap()
                .intent,
            Intent::Audience
        );
        assert!(parse_query("hello there").is_none());
    }

    #[test]
    fn extracts_personal_facts() {
        assert_eq!(
            personal_facts("My name is Zed and I like hiking"),
            vec!["Name: Zed", "Likes: hiking"]
        );
        assert_eq!(
            personal_facts("I prefer short answers, thanks."),
            vec!["Prefers: short answers"]
        );
        assert!(personal_facts("Which coffee chains are busiest in Austin?").is_empty());
    }

    #[test]
    fn recognises_persona_statements() {
        assert_eq!(
            persona_statement("I lead real estate for a QSR chain").as_deref(),
            Some("qsr_real_estate")
        );
        assert_eq!(
            persona_statement("I'm in consumer insights at a tobacco company").as_deref(),
            Some("tobacco_consumer_insights")
        );
        assert_eq!(
            persona_statement("I do economic development for the city of Tulsa").as_deref(),
            Some("municipal_economic_development")
        );
        assert_eq!(
            persona_statement("Which coffee chains are busiest in Austin?"),
            None
        );
    }

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
