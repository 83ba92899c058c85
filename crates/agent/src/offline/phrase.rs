//! Phrasing: an answer sentence from each tool's result, read through the tools' output types.
//!
//! A result that is `{"error": …}` is reported as such; one that does not match its tool's
//! output type is reported as unreadable rather than phrased with blanks.

use pi_places::tools::audience::Segment;
use pi_places::tools::place_summary::Benchmark;
use pi_places::tools::{
    AudienceOutput, ComparePerformanceOutput, Dimension, DistanceBetweenOutput, ListMetrosOutput,
    Metadata, NearbyCompetitorsOutput, OutputGeography, Place, PlaceSummaryOutput,
    SearchPlacesOutput, TradeAreaOutput, VisitFlowsOutput,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::parse::Query;
use super::tools::{MemoryEdited, PersonaAssigned, PersonasListed, Tool};

/// A number with thousands separators, rounded to a whole number.
pub(super) fn thousands(n: f64) -> String {
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

/// A number as JSON writes it (`142.0`), the way index values have always been shown.
fn json_number(x: f64) -> String {
    Value::from(x).to_string()
}

/// What a result's `annual_visits` counts: a year's visits (`visits/yr`), or, for an imported
/// set that holds less than a year, the visits of the days it holds (one week of Patterns is
/// not a year's traffic).
pub(super) fn per_year(meta: &Metadata) -> String {
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    match (
        meta.synthetic,
        day(&meta.data_range.start),
        day(&meta.data_range.end),
    ) {
        (false, Some(start), Some(end)) if (end - start).num_days() + 1 < 365 => {
            let days = (end - start).num_days() + 1;
            format!(
                "visits in the data's {days} day{}",
                if days == 1 { "" } else { "s" }
            )
        }
        _ => "visits/yr".to_owned(),
    }
}

/// One line about a place: name, address, annual visits (`unit`: [`per_year`]), distance, id.
pub(super) fn place_line(p: &Place, unit: &str) -> String {
    // An imported place (no floor area in the files) may have no visits in its data set.
    let visits = if p.annual_visits == 0 && p.sqft.is_none() {
        "no visits in the data".to_owned()
    } else {
        format!("{} {unit}", thousands(p.annual_visits as f64))
    };
    let mut line = format!(
        "{} ({}, {}, {} {}) — {visits}",
        p.name, p.address, p.city, p.state, p.zip,
    );
    if let Some(d) = p.distance_km {
        line.push_str(&format!(", {d:.1} km away"));
    }
    line.push_str(&format!(" [{}]", p.id));
    line
}

fn where_(q: &Query) -> String {
    q.metro.map_or_else(
        || "across the covered U.S. metros".to_owned(),
        |(_, name)| format!("in the {name} metro"),
    )
}

/// A result read as its tool's output type.
fn read<T: DeserializeOwned>(result: &Value) -> Result<T, String> {
    T::deserialize(result).map_err(|e| e.to_string())
}

/// The first item of a list the output always has at least one of.
fn first<'a, T>(items: &'a [T], what: &str) -> Result<&'a T, String> {
    items.first().ok_or_else(|| format!("no {what}"))
}

/// The answer's part about one tool result.
pub(super) fn describe(q: Option<&Query>, name: &str, result: &Value) -> String {
    if let Some(e) = result.get("error").and_then(Value::as_str) {
        return format!("The {name} tool could not answer: {e}.");
    }
    let Some(tool) = Tool::from_name(name) else {
        return format!("{name} returned data.");
    };
    let text = match tool {
        Tool::MemoryAppend => read(result).map(|r| memory_append(&r)),
        Tool::PersonaUpdate => read(result).map(|r| persona_update(&r)),
        Tool::SearchPlaces => read(result).map(|r| search_places(q, &r)),
        Tool::PlaceSummary => read(result).and_then(|r| place_summary(q, &r)),
        Tool::NearbyCompetitors => read(result).map(|r| nearby_competitors(&r)),
        Tool::PersonaList => read(result).map(|r| persona_list(&r)),
        Tool::ComparePerformance => read(result).map(|r| compare_performance(&r)),
        Tool::TradeArea => read(result).and_then(|r| trade_area(&r)),
        Tool::Audience => read(result).and_then(|r| audience(q, &r)),
        Tool::DistanceBetween => read(result).map(|r| distance_between(&r)),
        Tool::VisitFlows => read(result).and_then(|r| visit_flows(&r)),
        Tool::ListMetros => {
            read(result).map(|r| match q.and_then(|q| q.unknown_place.as_deref()) {
                Some(place) => not_covered(place, &r),
                None => list_metros(&r),
            })
        }
    };
    text.unwrap_or_else(|e| format!("I could not read the result of the {name} tool ({e})."))
}

fn memory_append(r: &MemoryEdited) -> String {
    // The facts just noted are the block's last `Label: …` lines (the offline model writes
    // them so); the block's template text above them is not repeated.
    let mut last: Vec<&str> = r
        .value
        .lines()
        .rev()
        .take_while(|l| {
            super::parse::FACT_LABELS
                .iter()
                .any(|p| l.starts_with(&format!("{p}: ")))
        })
        .collect();
    if last.is_empty() {
        last.extend(r.value.lines().last());
    }
    last.reverse();
    format!(
        "I've noted this in your profile so I remember it next time:\n{}",
        last.join("\n")
    )
}

fn persona_update(r: &PersonaAssigned) -> String {
    format!(
        "I've recorded your professional persona as {} (industry: {}, role: {}; confidence {}). I now share the {}_service_experience memory with the other agents serving this persona ({} agent(s) updated), so lessons learned serving people like you carry over — never personal details.",
        r.persona_handle,
        r.industry.replace('_', " "),
        r.professional_role.replace('_', " "),
        r.confidence_score,
        r.persona_handle,
        r.agents_attached + r.agents_already_attached,
    )
}

fn search_places(q: Option<&Query>, r: &SearchPlacesOutput) -> String {
    let unit = per_year(&r.metadata);
    if r.places.is_empty() {
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
    let mut text = format!("I found {} {what} {scope}.", r.total);
    if q.is_some_and(|q| q.wants_chains) {
        // (name, annual visits, locations) per brand among the places found.
        let mut chains: Vec<(&str, f64, usize)> = Vec::new();
        for p in &r.places {
            let v = p.annual_visits as f64;
            match chains.iter_mut().find(|c| c.0 == p.name) {
                Some(c) => {
                    c.1 += v;
                    c.2 += 1;
                }
                None => chains.push((&p.name, v, 1)),
            }
        }
        chains.sort_by(|a, b| b.1.total_cmp(&a.1));
        text.push_str(&format!(
            " Busiest brands by total {} among the top locations:",
            if unit == "visits/yr" {
                "annual visits"
            } else {
                unit.as_str()
            }
        ));
        for (i, (name, visits, n)) in chains.iter().take(5).enumerate() {
            text.push_str(&format!(
                "\n{}. {name} — {} {unit} across {n} location{}",
                i + 1,
                thousands(*visits),
                if *n == 1 { "" } else { "s" }
            ));
        }
        text.push_str("\nBusiest single locations:");
    } else {
        text.push_str(" The busiest:");
    }
    for (i, p) in r.places.iter().take(5).enumerate() {
        text.push_str(&format!("\n{}. {}", i + 1, place_line(p, &unit)));
    }
    text
}

fn persona_list(r: &PersonasListed) -> String {
    let mut text = format!(
        "I know {} professional personas; tell me which one fits you and I'll tailor my answers (and share anonymised lessons with other agents serving it):",
        r.personas.len()
    );
    for p in &r.personas {
        text.push_str(&format!(
            "\n- {} ({}, {}): {}",
            p.persona_handle,
            p.industry.replace('_', " "),
            p.professional_role.replace('_', " "),
            p.description
        ));
    }
    text
}

fn nearby_competitors(r: &NearbyCompetitorsOutput) -> String {
    let unit = per_year(&r.metadata);
    let o = &r.origin;
    if r.competitors.is_empty() {
        return format!(
            "No competitors of {} ({}, {}) within {:.0} km.",
            o.name, o.address, o.city, r.radius_km
        );
    }
    let mut text = format!(
        "{} competitors within {:.0} km of {} ({}, {}; {} {unit}), nearest first:",
        r.total,
        r.radius_km,
        o.name,
        o.address,
        o.city,
        thousands(o.annual_visits as f64)
    );
    for c in &r.competitors {
        text.push_str(&format!(
            "\n- {} ({}, {}) — {:.1} km away, {} {unit} (index {:.0} vs {})",
            c.place.name,
            c.place.address,
            c.place.city,
            c.place.distance_km.unwrap_or_default(),
            thousands(c.place.annual_visits as f64),
            c.visits_index_vs_origin,
            o.name
        ));
    }
    text
}

fn place_summary(q: Option<&Query>, r: &PlaceSummaryOutput) -> Result<String, String> {
    let p = first(&r.places, "place")?;
    let mut text = format!(
        "{} at {}, {}: {} visits from {} to {} ({} per day), about {} unique visitors (each visiting {:.1} times), median dwell {} min.",
        p.place.name,
        p.place.address,
        p.place.city,
        thousands(p.visits.total as f64),
        r.start_date,
        r.end_date,
        thousands(p.visits.daily_average),
        thousands(p.visitors as f64),
        p.visit_frequency,
        p.dwell.median_minutes,
    );
    if let Some(yoy) = p.trend.yoy_change_pct {
        text.push_str(&format!(" Year over year: {yoy:+.1}%."));
    }
    if let Some(Benchmark::Available(b)) = &p.benchmark {
        text.push_str(&format!(
            " Benchmark index vs the same category in its metro: {:.0} (100 = average).",
            b.index
        ));
    }
    if q.is_some_and(|q| q.trend.is_some()) {
        text.push_str("\nVisits by period:");
        for period in p.visits.by_period.iter().take(60) {
            text.push_str(&format!(
                "\n- {}: {}",
                period.period,
                thousands(period.visits as f64)
            ));
        }
    }
    Ok(text)
}

fn compare_performance(r: &ComparePerformanceOutput) -> String {
    let mut text = format!("Visits from {} to {}, ranked:", r.start_date, r.end_date);
    for ranked in r.rankings.iter().take(1).flat_map(|k| &k.ranked) {
        let s = r.series.iter().find(|s| s.entity == ranked.entity);
        text.push_str(&format!(
            "\n{}. {} — {} visits across {} locations ({} per location)",
            ranked.rank,
            s.map_or(ranked.entity.as_str(), |s| s.name.as_str()),
            thousands(ranked.value),
            s.map_or(0, |s| s.place_count),
            thousands(s.map_or(0.0, |s| s.visits_per_place)),
        ));
    }
    text
}

fn trade_area(r: &TradeAreaOutput) -> Result<String, String> {
    let p = first(&r.profiles, "profile")?;
    let distance = p.median_distance_km.map_or_else(
        || "the data give no travel distance".to_owned(),
        |d| format!("median visitor travel distance {d:.1} km"),
    );
    let areas = if p.output_geography.is_census() {
        "census areas"
    } else {
        "home ZIPs"
    };
    let mut text = format!(
        "Trade area of {} ({} to {}): {distance}; {} {areas} contribute visits.",
        p.place_name, r.start_date, r.end_date, p.home_zip_count,
    );
    for u in p.geo_units.iter().take(5) {
        let line = match p.output_geography {
            OutputGeography::Zip => format!(
                "\n- ZIP {} ({}): {:.1}% of visits, {:.1} km away",
                u.id,
                u.name.as_deref().unwrap_or(""),
                u.share * 100.0,
                u.distance_km.unwrap_or(0.0)
            ),
            OutputGeography::City => {
                format!("\n- {}: {:.1}% of visits", u.id, u.share * 100.0)
            }
            OutputGeography::DistanceBand => {
                format!("\n- {} from home: {:.1}% of visits", u.id, u.share * 100.0)
            }
            OutputGeography::BlockGroup | OutputGeography::Tract | OutputGeography::County => {
                let unit = match p.output_geography {
                    OutputGeography::BlockGroup => "block group",
                    OutputGeography::Tract => "tract",
                    _ => "county",
                };
                format!(
                    "\n- {unit} {}{}: {:.1}% of visits",
                    u.id,
                    u.name.as_ref().map_or(String::new(), |n| format!(" ({n})")),
                    u.share * 100.0
                )
            }
        };
        text.push_str(&line);
    }
    Ok(text)
}

fn audience(q: Option<&Query>, r: &AudienceOutput) -> Result<String, String> {
    let p = first(&r.profiles, "profile")?;
    let segments = |d: Dimension| p.dimensions.get(&d).map_or(&[][..], Vec::as_slice);
    let asked = q.map_or(&[][..], |q| q.dimensions.as_slice());
    if !asked.is_empty() {
        let mut text = format!(
            "Audience of {} ({} to {}), share of visitors (index vs U.S. = 100):",
            p.name, r.start_date, r.end_date
        );
        for d in asked {
            text.push_str(&format!("\n{}:", dimension_name(*d)));
            for s in segments(*d) {
                text.push_str(&format!(
                    "\n- {}: {:.0}% (index {})",
                    s.segment,
                    s.share * 100.0,
                    json_number(s.index)
                ));
            }
        }
        return Ok(text);
    }
    let mut lifestyle: Vec<&Segment> = segments(Dimension::Lifestyle).iter().collect();
    lifestyle.sort_by(|a, b| b.index.total_cmp(&a.index));
    let mut text = format!(
        "Audience of {} ({} to {}): the most over-represented lifestyle segments (index vs U.S. = 100):",
        p.name, r.start_date, r.end_date
    );
    for s in lifestyle.iter().take(3) {
        text.push_str(&format!(
            "\n- {}: {:.0}% of visitors, index {}",
            s.segment,
            s.share * 100.0,
            json_number(s.index)
        ));
    }
    if let Some(rich) = segments(Dimension::Income).last() {
        text.push_str(&format!(
            "\nHouseholds earning $150k+: {:.0}% (index {}).",
            rich.share * 100.0,
            json_number(rich.index)
        ));
    }
    Ok(text)
}

fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::Age => "Age",
        Dimension::Income => "Household income",
        Dimension::HouseholdSize => "Household size",
        Dimension::Kids => "Households with children",
        Dimension::Education => "Education",
        Dimension::Lifestyle => "Lifestyle segments",
    }
}

fn distance_between(r: &DistanceBetweenOutput) -> String {
    format!(
        "{} ({}) and {} ({}) are {:.1} km ({:.1} miles) apart ({}).",
        r.from.name, r.from.id, r.to.name, r.to.id, r.distance_km, r.distance_miles, r.method
    )
}

fn visit_flows(r: &VisitFlowsOutput) -> Result<String, String> {
    let r = first(&r.results, "origin")?;
    if let Some(day) = &r.same_day {
        let mut text = format!(
            "Where visitors of {} also went the same day ({} visitors in the data):",
            r.origin.name,
            thousands(day.visitors as f64)
        );
        if day.flows.is_empty() {
            text.push_str(" no other brand is named in the data.");
        }
        for f in day.flows.iter().take(5) {
            text.push_str(&format!(
                "\n- {}: {:.1}% of visitors",
                f.name,
                f.share_of_visitors * 100.0
            ));
        }
        return Ok(text);
    }
    let mut text = format!("Where visitors of {} go within two hours:", r.origin.name);
    for (flows, label) in [(&r.before, "Before"), (&r.after, "After")] {
        let flows = flows.as_ref().map_or(&[][..], |f| f.flows.as_slice());
        if !flows.is_empty() {
            text.push_str(&format!("\n{label}: "));
            text.push_str(
                &flows
                    .iter()
                    .take(3)
                    .map(|f| {
                        format!(
                            "{} ({:.1}% of visits)",
                            f.name,
                            f.share_of_origin_visits * 100.0
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
    }
    Ok(text)
}

/// "N U.S. metros, the largest being A, B, C, D, E".
fn covered(r: &ListMetrosOutput) -> String {
    let largest: Vec<&str> = r.metros.iter().take(5).map(|m| m.name.as_str()).collect();
    format!(
        "{} U.S. metros, the largest being {}",
        r.metros.len(),
        largest.join(", ")
    )
}

fn not_covered(place: &str, r: &ListMetrosOutput) -> String {
    format!(
        "I have no foot-traffic data for {place}: my data covers {}. Ask me about one of them.",
        covered(r)
    )
}

fn list_metros(r: &ListMetrosOutput) -> String {
    format!("I cover {}.", covered(r))
}
