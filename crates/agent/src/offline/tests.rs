//! The offline model's tests: reading the user's text, and whole conversations over the `small`
//! data set with the real analytics tools.

use std::sync::OnceLock;

use pi_domain::agent::ToolSchema;
use pi_domain::agent::runtime::{ChatRequest, LlmMessage};
use pi_places::catalog::Category;
use pi_places::dataset::{Dataset, Scale};
use pi_places::tools::{TOOLS, run_json};
use serde_json::{Value, json};

use super::OfflineModel;
use super::parse::{Intent, parse_query, persona_statement, personal_facts};
use super::phrase::{describe, thousands};
use super::tools::Tool;

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

fn data() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| Dataset::build(Scale::Small, 42))
}

/// Every analytics tool plus the memory and persona ones (as a Pi agent has them).
fn all_tools() -> Vec<ToolSchema> {
    TOOLS
        .iter()
        .map(|t| t.name)
        .chain([
            Tool::MemoryAppend.name(),
            Tool::PersonaUpdate.name(),
            Tool::PersonaList.name(),
        ])
        .map(|name| ToolSchema {
            name: name.to_owned(),
            description: String::new(),
            parameters: json!({}),
        })
        .collect()
}

/// What a bookkeeping tool would answer (the memory and persona services are not here).
fn bookkeeping_result(name: &str, args: &Value) -> Option<String> {
    let value = match Tool::from_name(name)? {
        Tool::MemoryAppend => json!({"ok": true, "label": "human",
            "value": format!("Earlier line\nAnother\n{}", args["content"].as_str()?)}),
        Tool::PersonaUpdate => json!({"success": true, "persona_handle": args["persona_handle"],
            "industry": "qsr", "professional_role": "real_estate",
            "confidence_score": args["confidence_score"], "shared_block_id": "b1",
            "agents_attached": 2, "agents_already_attached": 1, "agents_failed": 0}),
        Tool::SearchPlaces
        | Tool::PlaceSummary
        | Tool::ComparePerformance
        | Tool::TradeArea
        | Tool::Audience
        | Tool::VisitFlows => return None,
        Tool::PersonaList => json!({"personas": [
            {"persona_handle": "qsr_real_estate", "industry": "qsr", "professional_role": "real_estate",
             "description": "Site selection for quick-service restaurants.", "typical_kpis": []},
            {"persona_handle": "mall_leasing", "industry": "malls", "professional_role": "leasing",
             "description": "Tenant mix and leasing.", "typical_kpis": []}]}),
        Tool::ListMetros | Tool::NearbyCompetitors | Tool::DistanceBetween => return None,
    };
    Some(value.to_string())
}

/// A whole turn: the model's calls (run for real, or by `result` when it answers) and its
/// answer, as `call <name> <arguments>` lines, `---` and the answer.
fn converse(text: &str, result: &dyn Fn(&str, &Value) -> Option<String>) -> String {
    conversation_with(&[text], result).remove(0)
}

fn real(_: &str, _: &Value) -> Option<String> {
    None
}

/// Calls and answers recorded before the phrasing read typed outputs (the arguments were
/// `json!` literals then): the same bytes now.
const CONVERSATIONS: &[(&str, &str)] = &[
    (
        "Which coffee chains are busiest in Austin?",
        r#"call search_places {"categories":["coffee"],"geo":{"name":"metro:austin","type":"metro"},"limit":100}
---
I found 11 coffee locations in the Austin metro. Busiest brands by total annual visits among the top locations:
1. Starbucks — 1,728,962 visits/yr across 8 locations
2. Parkside Coffee House — 226,458 visits/yr across 1 location
3. Lone Star Roasters — 121,745 visits/yr across 1 location
4. Main Street Roasters — 106,301 visits/yr across 1 location
Busiest single locations:
1. Starbucks (1126 Hillcrest Rd, Austin, TX 78705) — 274,799 visits/yr [place:159]
2. Starbucks (9663 Market St, Austin, TX 78705) — 263,330 visits/yr [place:58]
3. Starbucks (4016 Mill Rd, Austin, TX 78799) — 245,288 visits/yr [place:219]
4. Starbucks (6585 Church St, Austin, TX 78703) — 236,328 visits/yr [place:231]
5. Parkside Coffee House (2569 Park Rd, Austin, TX 78749) — 226,458 visits/yr [place:4349]

(Tools used: search_places. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Compare Starbucks vs Dunkin' in Boston for 2024",
        r#"call compare_performance {"end_date":"2024-12-31","entities":[{"id":"chain:starbucks","metro":"metro:boston","type":"chain"},{"id":"chain:dunkin","metro":"metro:boston","type":"chain"}],"metric":"visits","start_date":"2024-01-01"}
---
Visits from 2024-01-01 to 2024-12-31, ranked:
1. Dunkin' — 610,496 visits across 4 locations (152,624 per location)
2. Starbucks — 442,374 visits across 3 locations (147,458 per location)

(Tools used: compare_performance. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Foot traffic summary for Chick-fil-A in Dallas in 2024",
        r#"call search_places {"chains":["chain:chick-fil-a"],"geo":{"name":"metro:dallas","type":"metro"},"limit":5}
call get_place_summary {"end_date":"2024-12-31","granularity":"month","include_benchmark":true,"place_ids":["place:687"],"start_date":"2024-01-01"}
---
Chick-fil-A at 9279 Church St, Garland: 738,844 visits from 2024-01-01 to 2024-12-31 (2,019 per day), about 71,793 unique visitors (each visiting 10.3 times), median dwell 6.8 min. Year over year: +6.7%. Benchmark index vs the same category in its metro: 188 (100 = average).

(Tools used: search_places, get_place_summary. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        // Anchorage is not in the data: it is said so (this once answered with a Topgolf
        // somewhere else, which issue 13 ruled out).
        "Foot traffic summary for Topgolf in Anchorage",
        r#"call list_metros {}
---
I have no foot-traffic data for Anchorage: my data covers 60 U.S. metros, the largest being New York, Los Angeles, Chicago, Dallas, Houston. Ask me about one of them.

(Tools used: list_metros. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Where do visitors of Walmart live? trade area in Houston",
        r#"call search_places {"chains":["chain:walmart"],"geo":{"name":"metro:houston","type":"metro"},"limit":5}
call get_trade_area_profile {"place_ids":["place:1529"]}
---
Trade area of Walmart (2025-01-01 to 2025-12-31): median visitor travel distance 12.6 km; 53 home ZIPs contribute visits.
- ZIP 77407 (Richmond, TX): 16.6% of visits, 2.2 km away
- ZIP 77083 (Houston, TX): 13.5% of visits, 6.8 km away
- ZIP 77450 (Katy, TX): 6.2% of visits, 7.2 km away
- ZIP 77082 (Houston, TX): 4.1% of visits, 9.9 km away
- ZIP 77498 (Sugar Land, TX): 3.9% of visits, 8.2 km away

(Tools used: search_places, get_trade_area_profile. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Audience of Topgolf",
        r#"call get_audience_profile {"entities":[{"id":"chain:topgolf","type":"chain"}]}
---
Audience of Topgolf (2025-01-01 to 2025-12-31): the most over-represented lifestyle segments (index vs U.S. = 100):
- Golden Horizons: 20% of visitors, index 226.0
- Heartland Traditionalists: 32% of visitors, index 165.0
- Suburban Nesters: 17% of visitors, index 164.0
Households earning $150k+: 21% (index 142.0).

(Tools used: get_audience_profile. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Who visits gyms in Chicago? demographics",
        r#"call search_places {"categories":["fitness"],"geo":{"name":"metro:chicago","type":"metro"},"limit":5}
call get_audience_profile {"entities":[{"id":"place:2281","type":"place"}]}
---
Audience of Planet Fitness (2025-01-01 to 2025-12-31): the most over-represented lifestyle segments (index vs U.S. = 100):
- Urban Trailblazers: 37% of visitors, index 192.0
- Campus & Creatives: 16% of visitors, index 163.0
- Rising Metropolitans: 14% of visitors, index 158.0
Households earning $150k+: 20% (index 133.0).

(Tools used: search_places, get_audience_profile. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Where do visitors of the Target in Phoenix go after?",
        r#"call search_places {"chains":["chain:target"],"geo":{"name":"metro:phoenix","type":"metro"},"limit":5}
call get_visit_flows {"group_by":"category","origin_place_ids":["place:1563"]}
---
Where visitors of Target go within two hours:
Before: big_box (12.5% of visits), qsr (8.6% of visits), fitness (3.5% of visits)
After: big_box (11.3% of visits), qsr (10.3% of visits), fitness (3.2% of visits)

(Tools used: search_places, get_visit_flows. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Which metros do you cover?",
        r#"call list_metros {}
---
I cover 60 U.S. metros, the largest being New York, Los Angeles, Chicago, Dallas, Houston.

(Tools used: list_metros. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "My name is Zed and I like hiking",
        r#"call core_memory_append {"content":"Name: Zed\nLikes: hiking","label":"human"}
---
I've noted this in your profile so I remember it next time:
Name: Zed
Likes: hiking

(Tools used: core_memory_append.)"#,
    ),
    (
        "I lead real estate for a QSR chain. Which fast food chains are busiest in Dallas?",
        r#"call update_user_persona_profile_in_db {"confidence_score":0.9,"persona_handle":"qsr_real_estate"}
call search_places {"categories":["qsr"],"geo":{"name":"metro:dallas","type":"metro"},"limit":100}
---
I've recorded your professional persona as qsr_real_estate (industry: qsr, role: real estate; confidence 0.9). I now share the qsr_real_estate_service_experience memory with the other agents serving this persona (3 agent(s) updated), so lessons learned serving people like you carry over — never personal details.

I found 56 qsr locations in the Dallas metro. Busiest brands by total annual visits among the top locations:
1. McDonald's — 4,550,575 visits/yr across 6 locations
2. Taco Bell — 3,343,719 visits/yr across 8 locations
3. Subway — 3,116,593 visits/yr across 18 locations
4. Burger King — 2,254,841 visits/yr across 7 locations
5. Chick-fil-A — 1,286,271 visits/yr across 2 locations
Busiest single locations:
1. McDonald's (943 Market St, Dallas, TX 75225) — 1,009,423 visits/yr [place:521]
2. McDonald's (1103 Park Rd, Dallas, TX 75204) — 939,523 visits/yr [place:458]
3. McDonald's (922 Ridge Rd, Arlington, TX 76010) — 882,654 visits/yr [place:564]
4. Chick-fil-A (9279 Church St, Garland, TX 75042) — 774,842 visits/yr [place:687]
5. Taco Bell (4632 Highland Ave, Ferris, TX 75125) — 718,898 visits/yr [place:724]

(Tools used: update_user_persona_profile_in_db, search_places. Figures come from Pi's synthetic foot-traffic data set.)"#,
    ),
    (
        "Audience of Topgolf in Dallas",
        r#"call get_audience_profile {"entities":[{"id":"chain:topgolf","metro":"metro:dallas","type":"chain"}]}
---
The get_audience_profile tool could not answer: no places for chain:topgolf in metro:dallas.

(Tools used: get_audience_profile.)"#,
    ),
];

#[test]
fn conversations_call_the_same_tools_and_answer_the_same_words() {
    if let Ok(path) = std::env::var("PI_RECORD_CONVERSATIONS") {
        // Re-records the answers (review the diff): `PI_RECORD_CONVERSATIONS=/tmp/c.json`.
        let now: Vec<(&str, String)> = CONVERSATIONS
            .iter()
            .map(|(q, _)| (*q, converse(q, &real)))
            .collect();
        std::fs::write(path, serde_json::to_string(&now).unwrap()).unwrap();
    }
    for (question, expected) in CONVERSATIONS {
        assert_eq!(converse(question, &real), *expected, "{question}");
    }
}

#[test]
fn every_analytics_result_is_read_through_its_type() {
    let readable = [
        Tool::SearchPlaces,
        Tool::PlaceSummary,
        Tool::ComparePerformance,
        Tool::TradeArea,
        Tool::Audience,
        Tool::VisitFlows,
        Tool::ListMetros,
    ];
    for tool in readable {
        let spec = TOOLS.iter().find(|t| t.name == tool.name()).unwrap();
        let (json, is_error) = run_json(data(), spec.name, (spec.example)());
        assert!(!is_error, "{json}");
        let text = describe(None, spec.name, &serde_json::from_str(&json).unwrap());
        assert!(
            !text.contains("could not read") && !text.contains("returned data"),
            "{}: {text}",
            spec.name
        );
    }
}

#[test]
fn a_result_that_is_not_the_tools_output_is_reported_not_phrased_blank() {
    let unreadable = |value: Value| {
        move |name: &str, _: &Value| (name == "search_places").then(|| value.to_string())
    };
    // Before, these read as "I found no matching places." (the fields were missing, so empty).
    for result in [
        json!({"places": "none"}),
        json!({"results": []}),
        json!([1, 2]),
    ] {
        let answer = converse(
            "Which coffee shops are busiest in Austin?",
            &unreadable(result),
        );
        assert!(
            answer.contains("I could not read the result of the search_places tool ("),
            "{answer}"
        );
        assert!(!answer.contains("I found"), "{answer}");
    }
    // Not JSON at all.
    let answer = converse("Which coffee shops are busiest in Austin?", &|name, _| {
        (name == "search_places").then(|| "<html>".to_owned())
    });
    assert!(answer.contains("I could not read the result of the search_places tool"));
    // A follow-up tool whose output has the right shape but nothing in it.
    let answer = converse(
        "Foot traffic summary for Chick-fil-A in Dallas in 2024",
        &|name, _| {
            (name == "get_place_summary").then(|| {
                let mut empty = serde_json::from_str::<Value>(
                    &run_json(data(), name, json!({"place_ids": ["place:0"]})).0,
                )
                .unwrap();
                empty["places"] = json!([]);
                empty.to_string()
            })
        },
    );
    assert!(
        answer
            .contains("---\nI could not read the result of the get_place_summary tool (no place)."),
        "{answer}"
    );
    // Bookkeeping tools are read through their own types too.
    let answer = converse("My name is Zed", &|name, _| {
        (name == "core_memory_append").then(|| json!({"ok": true}).to_string())
    });
    assert!(
        answer.contains(
            "I could not read the result of the core_memory_append tool (missing field `value`)."
        ),
        "{answer}"
    );
    // Errors are still reported as the tool's own words.
    let answer = converse("Which coffee shops are busiest in Austin?", &|name, _| {
        (name == "search_places").then(|| json!({"error": "boom"}).to_string())
    });
    assert!(answer.contains("The search_places tool could not answer: boom."));
}

#[test]
fn the_persona_confidence_is_shown_as_the_tool_wrote_it() {
    let answer = converse("I work in asset management at a REIT", &|name, args| {
        (name == "update_user_persona_profile_in_db").then(|| {
            json!({"persona_handle": args["persona_handle"], "industry": "retail_reit",
                "professional_role": "asset_management", "confidence_score": 1.0,
                "agents_attached": 0, "agents_already_attached": 3})
            .to_string()
        })
    });
    assert!(
        answer.contains("(industry: retail reit, role: asset management; confidence 1.0)"),
        "{answer}"
    );
    assert!(answer.contains("(3 agent(s) updated)"), "{answer}");
}

#[test]
fn words_cut_before_whitespace_and_concatenate_to_the_text() {
    let text = "  Costco in  Dallas:\n12,345 visits. ";
    let pieces: Vec<&str> = super::words(text).collect();
    assert_eq!(
        pieces,
        ["  Costco", " in", "  Dallas:", "\n12,345", " visits.", " "]
    );
    assert_eq!(pieces.concat(), text);
}

#[test]
fn a_place_the_data_does_not_cover_is_named_not_replaced_by_somewhere_else() {
    let turn = converse("Show me coffee shops in Atlantis", &real);
    assert!(turn.starts_with("call list_metros {}"), "{turn}");
    assert!(!turn.contains("call search_places"), "{turn}");
    assert!(
        turn.contains("I have no foot-traffic data for Atlantis: my data covers 60 U.S. metros"),
        "{turn}"
    );
    // Covered metros, months and brands after "in" are not unknown places.
    for covered in [
        "Show me coffee shops in Austin",
        "Busiest coffee shops in March 2024",
        "Coffee chains near Houston",
    ] {
        let turn = converse(covered, &real);
        assert!(turn.starts_with("call search_places"), "{covered}: {turn}");
    }
}

/// Several turns of one conversation: each answer joins the history the next turn sees.
fn conversation(turns: &[&str]) -> Vec<String> {
    conversation_with(turns, &real)
}

/// [`conversation`], with tool results from `result` where it answers.
fn conversation_with(
    turns: &[&str],
    result: &dyn Fn(&str, &Value) -> Option<String>,
) -> Vec<String> {
    let mut messages = vec![LlmMessage::System("system".into())];
    let mut out = Vec::new();
    for text in turns {
        messages.push(LlmMessage::User((*text).into()));
        let mut transcript = Vec::new();
        loop {
            let response = OfflineModel.answer(&ChatRequest {
                model: "offline".into(),
                messages: messages.clone(),
                tools: all_tools().into(),
                deadline: None,
                on_text: None,
            });
            if response.tool_calls.is_empty() {
                let answer = response.content.unwrap_or_default();
                messages.push(LlmMessage::Assistant {
                    content: Some(answer.clone()),
                    tool_calls: Vec::new(),
                });
                transcript.push("---".to_owned());
                transcript.push(answer);
                break;
            }
            messages.push(LlmMessage::Assistant {
                content: None,
                tool_calls: response.tool_calls.clone(),
            });
            for call in response.tool_calls {
                transcript.push(format!("call {} {}", call.name, call.arguments));
                let args: Value = serde_json::from_str(&call.arguments).unwrap();
                let content = result(&call.name, &args)
                    .or_else(|| bookkeeping_result(&call.name, &args))
                    .unwrap_or_else(|| run_json(data(), &call.name, args).0);
                messages.push(LlmMessage::Tool {
                    call_id: call.id,
                    name: call.name,
                    content,
                });
            }
            assert!(
                transcript.len() < 10,
                "no answer to {text:?}: {transcript:?}"
            );
        }
        out.push(transcript.join("\n"));
    }
    out
}

#[test]
fn follow_ups_read_against_the_conversations_last_question() {
    let turns = conversation(&[
        "Foot traffic summary for Starbucks in Austin",
        "What about 2023?",
        "And in Dallas?",
        "Compare it with Dunkin'",
        "I work in Boston",
    ]);
    assert!(
        turns[0].contains("\"metro:austin\"") && turns[0].contains("2025-01-01"),
        "{}",
        turns[0]
    );
    // Same brand and metro, another year.
    assert!(turns[1].contains("call search_places"), "{}", turns[1]);
    assert!(
        turns[1].contains("\"metro:austin\"") && turns[1].contains("chain:starbucks"),
        "{}",
        turns[1]
    );
    assert!(
        turns[1].contains("\"start_date\":\"2023-01-01\""),
        "{}",
        turns[1]
    );
    // Another metro; the year carries over.
    assert!(
        turns[2].contains("\"metro:dallas\"") && turns[2].contains("chain:starbucks"),
        "{}",
        turns[2]
    );
    assert!(
        turns[2].contains("\"start_date\":\"2023-01-01\""),
        "{}",
        turns[2]
    );
    // Both brands, in the metro of the conversation.
    assert!(
        turns[3].starts_with("call compare_performance"),
        "{}",
        turns[3]
    );
    assert!(
        turns[3].contains("chain:starbucks") && turns[3].contains("chain:dunkin"),
        "{}",
        turns[3]
    );
    assert!(turns[3].contains("metro:dallas"), "{}", turns[3]);
    // A statement is not a follow-up question.
    assert!(!turns[4].contains("call search_places"), "{}", turns[4]);
    // Another conversation does not know this one.
    let fresh = conversation(&["And in Dallas?"]);
    assert!(!fresh[0].contains("call "), "{}", fresh[0]);
}

#[test]
fn competitors_and_monthly_trends_use_their_tools_and_print_their_numbers() {
    let turn = converse(
        "Who are the competitors of the Starbucks in New York?",
        &real,
    );
    assert!(turn.contains("call nearby_competitors"), "{turn}");
    assert!(
        turn.contains("competitors within 10 km of Starbucks")
            || turn.contains("No competitors of Starbucks"),
        "{turn}"
    );
    // Where there are competitors, each is listed with its distance and visits from the tool.
    let (args, output) = (0..200)
        .map(|i| json!({"place_id": format!("place:{i}"), "radius_km": 50, "limit": 3}))
        .map(|args| (args.clone(), run_json(data(), "nearby_competitors", args).0))
        .find(|(_, out)| serde_json::from_str::<Value>(out).unwrap()["total"].as_u64() > Some(0))
        .unwrap();
    let result: Value = serde_json::from_str(&output).unwrap();
    let text = describe(None, "nearby_competitors", &result);
    let first = &result["competitors"][0];
    assert!(
        text.contains(first["name"].as_str().unwrap()),
        "{args} {text}"
    );
    assert!(
        text.contains(&format!(
            "{:.1} km away",
            first["distance_km"].as_f64().unwrap()
        )),
        "{text}"
    );
    let turn = converse(
        "Give me the monthly visit trend for Starbucks in Dallas during 2024",
        &real,
    );
    assert!(turn.contains("\"granularity\":\"month\""), "{turn}");
    assert!(turn.contains("Visits by period:"), "{turn}");
    for month in ["2024-01", "2024-06", "2024-12"] {
        assert!(turn.contains(&format!("- {month}: ")), "{month}: {turn}");
    }
    let weekly = converse("Weekly visits for Starbucks in Austin in 2024", &real);
    assert!(weekly.contains("\"granularity\":\"week\""), "{weekly}");
}

#[test]
fn personas_and_rankings_reach_their_tools() {
    let turn = converse("What personas do you know about?", &real);
    assert!(
        turn.starts_with("call list_available_personas {}"),
        "{turn}"
    );
    assert!(turn.contains("I know 2 professional personas"), "{turn}");
    assert!(
        turn.contains("- qsr_real_estate (qsr, real estate)"),
        "{turn}"
    );
    assert!(
        !turn.contains("Figures come from"),
        "no analytics were used: {turn}"
    );
    let turn = converse("Rank Starbucks, Dunkin' and Dutch Bros by visits", &real);
    assert!(turn.starts_with("call compare_performance"), "{turn}");
    for brand in ["chain:starbucks", "chain:dunkin", "chain:dutch-bros"] {
        assert!(turn.contains(brand), "{brand}: {turn}");
    }
    assert!(turn.contains("ranked:\n1. "), "{turn}");
}

/// The tools called for `text` (in order) and the answer.
fn calls_and_answer(text: &str) -> (Vec<String>, String) {
    let turn = converse(text, &real);
    let (calls, answer) = turn.split_once("\n---\n").unwrap();
    let names = calls
        .lines()
        .filter_map(|l| l.strip_prefix("call "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    (names, answer.to_owned())
}

#[test]
fn distances_breakdowns_trade_area_units_and_category_rankings_reach_their_tools() {
    let (calls, answer) = calls_and_answer(
        "How far apart are the busiest Starbucks and the busiest Dunkin' in Boston?",
    );
    assert_eq!(
        calls,
        ["search_places", "search_places", "distance_between"]
    );
    assert!(
        answer.contains("km (") && answer.contains("miles) apart"),
        "{answer}"
    );
    assert!(
        answer.contains("Starbucks") && answer.contains("Dunkin"),
        "{answer}"
    );

    // A brand's audience is read for the brand in the metro (one call).
    let (calls, answer) =
        calls_and_answer("Age breakdown of visitors at the busiest Walmart in Houston");
    assert_eq!(calls, ["get_audience_profile"]);
    assert!(
        answer.contains("\nAge:") && answer.contains("2025-01-01 to 2025-12-31"),
        "{answer}"
    );
    assert!(
        !answer.contains("Household income"),
        "only what was asked: {answer}"
    );

    let (calls, answer) =
        calls_and_answer("Income and household size of Walmart shoppers in Houston");
    assert_eq!(calls, ["get_audience_profile"]);
    assert!(
        answer.contains("Household income:") && answer.contains("Household size:"),
        "{answer}"
    );

    let turn = converse("What ZIP codes feed the busiest Walmart in Houston?", &real);
    assert!(turn.contains("call get_trade_area_profile"), "{turn}");
    assert!(turn.contains("\n- ZIP "), "{turn}");

    let turn = converse(
        "Distance bands of the trade area of the Walmart in Houston",
        &real,
    );
    assert!(
        turn.contains(r#""output_geography":"distance_band""#),
        "{turn}"
    );
    assert!(turn.contains(" from home: "), "{turn}");

    let (calls, answer) = calls_and_answer("Rank coffee, grocery and fitness by visits in Atlanta");
    assert_eq!(calls, ["compare_performance"]);
    assert!(answer.contains("1. ") && answer.contains("3. "), "{answer}");

    let turn = converse(
        "How did foot traffic at the busiest grocery store in Houston change year over year?",
        &real,
    );
    assert!(turn.contains("call get_place_summary"), "{turn}");
}

#[test]
fn a_noted_fact_is_repeated_without_the_blocks_template_text() {
    let result = json!({"ok": true, "label": "human", "value":
        "Other facts about this user (role, preferences) are still to be discovered.\nName: Pat\nPrefers: drive-thru sites"});
    let text = super::phrase::describe(None, Tool::MemoryAppend.name(), &result);
    assert!(
        text.ends_with(":\nName: Pat\nPrefers: drive-thru sites"),
        "{text}"
    );
    assert!(!text.contains("still to be discovered"), "{text}");
}

/// A tool that answered only with an error gave no figures: the answer does not say they came
/// from the synthetic set (an imported set without demographics refuses an audience profile).
#[test]
fn an_answer_of_errors_only_claims_no_data_set() {
    let answer = converse("Audience of Topgolf", &|name, _| {
        (name == "get_audience_profile")
            .then(|| json!({"error": "the data set `bench` has no demographics"}).to_string())
    });
    assert!(answer.contains("has no demographics"), "{answer}");
    assert!(
        answer.ends_with("(Tools used: get_audience_profile.)"),
        "{answer}"
    );
}
