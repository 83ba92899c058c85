//! Planning: which tools to call for a message, which to call next once a search found the place,
//! and when to stop and phrase the answer.

use pi_domain::agent::Usage;
use pi_domain::agent::runtime::{ChatRequest, ChatResponse, LlmMessage, ToolCall};
use pi_places::catalog::Category;
use pi_places::tools::{
    AnalyticsTool, Audience, AudienceArgs, ComparePerformance, ComparePerformanceArgs,
    DateRangeArgs, Dimension, DistanceBetween, DistanceBetweenArgs, EntityRef, EntityType,
    GeoFilter, Granularity, GroupBy, ListMetros, ListMetrosArgs, Metric, NearbyCompetitors,
    NearbyCompetitorsArgs, PlaceId, PlaceSummary, PlaceSummaryArgs, SearchPlaces, SearchPlacesArgs,
    SearchPlacesOutput, TradeArea, TradeAreaArgs, VisitFlows, VisitFlowsArgs, to_arguments,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse::{Intent, Query, is_question, parse_query, persona_statement, personal_facts};
use super::phrase::describe;
use super::tools::{MemoryAppendArgs, PersonaArgs, Tool};

const HELP: &str = "I'm Pi, running in offline mode (no language model is configured, so I follow simple rules rather than understanding everything). I can answer questions such as: \"Which coffee chains are busiest in Austin?\", \"Compare Starbucks vs Dunkin' in Boston\", \"Foot traffic summary for Chick-fil-A in Dallas in 2024\", \"Trade area of the Costco in Denver\", \"Audience of Topgolf\", \"Where do visitors of the Target in Phoenix go after?\", or \"Which metros do you cover?\". Tell me about yourself (\"My name is…\", \"I prefer…\") and I'll remember it.";

/// A call of tool `name` with typed arguments; `None` if they do not encode as JSON (plain
/// structs always do).
fn call<A: Serialize>(id: usize, name: &str, args: &A) -> Option<ToolCall> {
    let arguments = to_arguments(args).ok()?;
    Some(ToolCall {
        id: format!("offline_{id}_{name}"),
        name: name.to_owned(),
        arguments: arguments.to_string(),
    })
}

/// The year asked about (default 2025).
/// The year asked about; otherwise the tool's own default (the built-in set's 2025, an
/// imported set's latest 365 days).
fn dates(q: &Query) -> DateRangeArgs {
    q.year
        .map_or_else(DateRangeArgs::default, DateRangeArgs::year)
}

/// The metro asked about, or the whole country.
fn geo(q: &Query) -> GeoFilter {
    match q.metro {
        Some((slug, _)) => GeoFilter::Metro {
            name: format!("metro:{slug}"),
        },
        None => GeoFilter::BoundingBox {
            min_lat: 18.0,
            min_lon: -160.0,
            max_lat: 50.0,
            max_lon: -66.0,
        },
    }
}

/// A brand, within the metro asked about if any.
fn chain(q: &Query, slug: &str) -> EntityRef {
    EntityRef {
        kind: EntityType::Chain,
        id: format!("chain:{slug}"),
        metro: q.metro.map(|(metro, _)| format!("metro:{metro}")),
    }
}

/// A category, within the metro asked about if any.
fn category(q: &Query, c: Category) -> EntityRef {
    EntityRef {
        kind: EntityType::Category,
        id: c.as_str().to_owned(),
        metro: q.metro.map(|(metro, _)| format!("metro:{metro}")),
    }
}

/// The audience dimensions asked for (`None`: all of them).
fn dimensions(q: &Query) -> Option<Vec<Dimension>> {
    (!q.dimensions.is_empty()).then(|| q.dimensions.clone())
}

/// The busiest place of each of two brands, then the distance between them.
fn distance_searches(q: &Query) -> Vec<ToolCall> {
    q.brands
        .iter()
        .take(2)
        .enumerate()
        .filter_map(|(i, (slug, _))| {
            let mut args = SearchPlacesArgs::new(geo(q));
            args.limit = Some(1);
            args.chains = Some(vec![format!("chain:{slug}")]);
            call(i, SearchPlaces::NAME, &args)
        })
        .collect()
}

/// `distance_between` the places two searches found first.
fn distance_call(searches: &[&Value]) -> Option<ToolCall> {
    let top = |v: &Value| {
        SearchPlacesOutput::deserialize(v)
            .ok()
            .and_then(|s| s.places.into_iter().next())
            .map(|p| p.id)
    };
    let [a, b] = searches else { return None };
    call(
        2,
        DistanceBetween::NAME,
        &DistanceBetweenArgs {
            from_id: top(a)?,
            to_id: top(b)?,
        },
    )
}

/// The first tool call for a question: a search, unless one tool answers it directly.
fn first_call(q: &Query) -> Option<ToolCall> {
    // Somewhere the data does not cover: say so and offer what it covers, never results for
    // somewhere else.
    if q.unknown_place.is_some() {
        return call(0, ListMetros::NAME, &ListMetrosArgs {});
    }
    match q.intent {
        Intent::Distance => None,
        Intent::Metros => call(0, ListMetros::NAME, &ListMetrosArgs {}),
        Intent::Personas => call(0, Tool::PersonaList.name(), &serde_json::Map::new()),
        Intent::Compare => call(
            0,
            ComparePerformance::NAME,
            &ComparePerformanceArgs {
                entities: if q.brands.is_empty() {
                    q.categories.iter().map(|c| category(q, *c)).collect()
                } else {
                    q.brands.iter().map(|(slug, _)| chain(q, slug)).collect()
                },
                dates: dates(q),
                metric: Some(Metric::Visits),
            },
        ),
        Intent::Audience if q.brands.len() == 1 => call(
            0,
            Audience::NAME,
            &AudienceArgs {
                entities: vec![chain(q, q.brands[0].0)],
                dates: dates(q),
                dimensions: dimensions(q),
            },
        ),
        Intent::Busiest
        | Intent::Summary
        | Intent::TradeArea
        | Intent::Audience
        | Intent::Flows
        | Intent::Competitors => {
            let mut args = SearchPlacesArgs::new(geo(q));
            args.limit = Some(if q.intent == Intent::Busiest { 100 } else { 5 });
            if !q.categories.is_empty() {
                args.categories =
                    Some(q.categories.iter().map(|c| c.as_str().to_owned()).collect());
            }
            if !q.brands.is_empty() {
                args.chains = Some(q.brands.iter().map(|(s, _)| format!("chain:{s}")).collect());
            }
            call(0, SearchPlaces::NAME, &args)
        }
    }
}

/// The call that answers a place-based question once the search found the place.
fn follow_up(q: &Query, search: &Value) -> Option<ToolCall> {
    let search = SearchPlacesOutput::deserialize(search).ok()?;
    let id = PlaceId(search.places.into_iter().next()?.id);
    match q.intent {
        Intent::Summary => call(
            1,
            PlaceSummary::NAME,
            &PlaceSummaryArgs {
                place_ids: vec![id],
                dates: dates(q),
                granularity: Some(q.trend.unwrap_or(Granularity::Month)),
                include_benchmark: Some(true),
                include_rollup: None,
            },
        ),
        Intent::TradeArea => call(
            1,
            TradeArea::NAME,
            &TradeAreaArgs {
                place_ids: vec![id],
                dates: dates(q),
                output_geography: q.geography,
                traffic_volume_pct: None,
            },
        ),
        Intent::Audience => call(
            1,
            Audience::NAME,
            &AudienceArgs {
                entities: vec![EntityRef {
                    kind: EntityType::Place,
                    id: id.0,
                    metro: None,
                }],
                dates: dates(q),
                dimensions: dimensions(q),
            },
        ),
        Intent::Flows => call(
            1,
            VisitFlows::NAME,
            &VisitFlowsArgs {
                origin_place_ids: vec![id],
                dates: dates(q),
                window_before_minutes: None,
                window_after_minutes: None,
                direction: None,
                group_by: Some(GroupBy::Category),
                limit: None,
            },
        ),
        Intent::Competitors => call(
            1,
            NearbyCompetitors::NAME,
            &NearbyCompetitorsArgs {
                place_id: id,
                radius_km: Some(10.0),
                limit: Some(5),
            },
        ),
        Intent::Busiest
        | Intent::Compare
        | Intent::Metros
        | Intent::Personas
        | Intent::Distance => None,
    }
}

fn help() -> ChatResponse {
    ChatResponse {
        content: Some(HELP.into()),
        ..Default::default()
    }
}

fn one_step() -> Usage {
    Usage {
        step_count: 1,
        ..Usage::default()
    }
}

/// The model's next step: tool calls for a new message, a follow-up call, or the answer.
pub(super) fn plan(request: &ChatRequest) -> ChatResponse {
    let last_user = request
        .messages
        .iter()
        .rposition(|m| matches!(m, LlmMessage::User(_)));
    let Some(u) = last_user else {
        return help();
    };
    let LlmMessage::User(text) = &request.messages[u] else {
        return help();
    };
    // A follow-up reads against this conversation's last question (its history, never a
    // state kept between conversations).
    let read = |text: &str, context: Option<Query>| {
        super::parse::follow_up(text, context.clone())
            .or_else(|| parse_query(text))
            .or(context)
    };
    let earlier = request.messages[..u]
        .iter()
        .filter_map(|m| match m {
            LlmMessage::User(t) => Some(t.as_str()),
            _ => None,
        })
        .fold(None, |context, t| read(t, context));
    let query = super::parse::follow_up(text, earlier).or_else(|| parse_query(text));
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
        return first_step(text, query.as_ref(), &available);
    }
    // A distance needs both brands' places first.
    let searches: Vec<&Value> = results
        .iter()
        .filter(|r| r.0 == SearchPlaces::NAME)
        .map(|r| &r.1)
        .collect();
    if let Some(q) = &query
        && q.intent == Intent::Distance
        && !results.iter().any(|r| r.0 == DistanceBetween::NAME)
        && let Some(next) = distance_call(&searches)
        && available(&next.name)
    {
        return ChatResponse {
            tool_calls: vec![next],
            usage: one_step(),
            ..Default::default()
        };
    }
    // A place-based question needs a second tool once the search found the place.
    if let Some(q) = &query
        && results.len()
            == 1 + results
                .iter()
                .filter(|r| Tool::is_bookkeeping(&r.0))
                .count()
        && let Some((_, search)) = results.iter().find(|r| r.0 == SearchPlaces::NAME)
        && let Some(next) = follow_up(q, search)
        && available(&next.name)
    {
        return ChatResponse {
            tool_calls: vec![next],
            usage: one_step(),
            ..Default::default()
        };
    }
    ChatResponse {
        content: Some(answer(query.as_ref(), &results)),
        usage: one_step(),
        ..Default::default()
    }
}

/// The calls for a new message: record facts and persona, then look up the question.
fn first_step(text: &str, query: Option<&Query>, available: &dyn Fn(&str) -> bool) -> ChatResponse {
    let mut calls = Vec::new();
    let facts = personal_facts(text);
    if !facts.is_empty() && available(Tool::MemoryAppend.name()) {
        let args = MemoryAppendArgs {
            label: "human",
            content: facts.join("\n"),
        };
        calls.extend(call(9, Tool::MemoryAppend.name(), &args));
    }
    let persona = persona_statement(text);
    if let Some(handle) = &persona
        && available(Tool::PersonaUpdate.name())
    {
        let args = PersonaArgs {
            persona_handle: handle.clone(),
            confidence_score: 0.9,
        };
        calls.extend(call(8, Tool::PersonaUpdate.name(), &args));
    }
    if let Some(q) = query
        && (persona.is_none() || is_question(text))
    {
        if q.intent == Intent::Distance && q.unknown_place.is_none() {
            calls.extend(
                distance_searches(q)
                    .into_iter()
                    .filter(|c| available(&c.name)),
            );
        } else {
            calls.extend(first_call(q).filter(|c| available(&c.name)));
        }
    }
    if calls.is_empty() {
        return help();
    }
    ChatResponse {
        reasoning: Some(format!(
            "Offline model: {} tool call(s) planned from the message's keywords.",
            calls.len()
        )),
        tool_calls: calls,
        usage: one_step(),
        ..Default::default()
    }
}

/// The answer: the most specific result first, then the rest, and the tools used.
fn answer(query: Option<&Query>, results: &[(String, Value)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut used: Vec<&str> = Vec::new();
    let specific = results
        .iter()
        .any(|r| r.0 != SearchPlaces::NAME && !Tool::is_bookkeeping(&r.0));
    for (name, value) in results {
        if !used.contains(&name.as_str()) {
            used.push(name);
        }
        if specific && name == SearchPlaces::NAME && value.get("error").is_none() {
            continue;
        }
        parts.push(describe(query, name, value));
    }
    let analytics = used.iter().any(|n| Tool::is_analytics(n));
    // Imported figures say where they come from (their metadata names the data set).
    let imported = results.iter().find_map(|(_, v)| {
        (v["metadata"]["synthetic"] == Value::Bool(false))
            .then(|| v["metadata"]["dataset"].as_str().map(str::to_owned))
            .flatten()
    });
    let synthetic = results
        .iter()
        .any(|(_, v)| v["metadata"]["synthetic"] == Value::Bool(true));
    // A result without metadata (an error) gave no figures: it is attributed to no data set.
    let source = match (analytics, imported, synthetic) {
        (false, ..) | (true, None, false) => String::new(),
        (true, Some(dataset), _) => format!(" Figures come from your data set `{dataset}`."),
        (true, None, true) => " Figures come from Pi's synthetic foot-traffic data set.".to_owned(),
    };
    let mut text = parts.join("\n\n");
    text.push_str(&format!("\n\n(Tools used: {}.{source})", used.join(", ")));
    text
}
