//! Reading the user's text: the analytics question (intent, brands, categories, metro, year),
//! personal facts for the `human` block, and professional persona statements.

use pi_places::catalog::{CHAINS, Category, METROS};
use pi_places::tools::{Dimension, Granularity, OutputGeography};

/// What the user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    /// The busiest places (or chains) of a brand or category.
    Busiest,
    /// A foot-traffic summary of a brand's place.
    Summary,
    /// Brands side by side.
    Compare,
    /// Where a place's visitors live.
    TradeArea,
    /// Who visits a brand or a place.
    Audience,
    /// Where visitors go before and after.
    Flows,
    /// The metros covered.
    Metros,
    /// Same-category places near a brand's place.
    Competitors,
    /// The professional personas Pi knows.
    Personas,
    /// How far apart two brands' places are.
    Distance,
}

/// An analytics question, as far as keywords tell.
#[derive(Debug, Clone)]
pub(super) struct Query {
    pub(super) intent: Intent,
    /// (slug, name) of the chains named.
    pub(super) brands: Vec<(&'static str, &'static str)>,
    pub(super) categories: Vec<Category>,
    /// (slug, name) of the metro named.
    pub(super) metro: Option<(&'static str, &'static str)>,
    pub(super) year: Option<i32>,
    /// The user asks about chains or brands rather than single places.
    pub(super) wants_chains: bool,
    /// A place named after "in" that is no metro of the data ("coffee shops in Atlantis").
    pub(super) unknown_place: Option<String>,
    /// Visits period by period ("monthly trend", "week by week").
    pub(super) trend: Option<Granularity>,
    /// Audience dimensions asked for ("age breakdown", "income"); empty for the overview.
    pub(super) dimensions: Vec<Dimension>,
    /// How a trade area is broken down ("ZIP codes", "distance bands", "cities").
    pub(super) geography: Option<OutputGeography>,
}

/// Capitalised words after "in"/"near"/"around" that no metro, brand or month matches.
fn unknown_place(text: &str) -> Option<String> {
    const NOT_PLACES: &[&str] = &[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "The",
        "My",
        "Our",
        "Your",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if !matches!(w.to_lowercase().as_str(), "in" | "near" | "around") {
            continue;
        }
        let name: Vec<&str> = words[i + 1..]
            .iter()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .take_while(|w| {
                w.chars().next().is_some_and(char::is_uppercase)
                    && w.chars().all(|c| c.is_alphabetic() || c == '-' || c == '.')
            })
            .take(3)
            .collect();
        let Some(first) = name.first() else {
            continue;
        };
        if NOT_PLACES.contains(first) {
            continue;
        }
        let name = name.join(" ");
        let n = normalise(&name);
        let known = METROS
            .iter()
            .any(|m| normalise(m.name).contains(n.as_str()))
            || CHAINS.iter().any(|c| normalise(c.name) == n);
        if !known {
            return Some(name);
        }
    }
    None
}

/// Lower case, words only, single spaces, with a space at both ends (for [`has`]).
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

/// Whether normalised text contains the phrase as whole words.
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

/// (slug, name) of the chains normalised text names, by name, slug, or name without a leading
/// "The" ("Home Depot").
fn brands_in(t: &str) -> Vec<(&'static str, &'static str)> {
    CHAINS
        .iter()
        .filter(|c| {
            let name = normalise(c.name);
            let bare = name.strip_prefix(" the").unwrap_or(&name);
            t.contains(name.as_str())
                || t.contains(bare)
                || t.contains(normalise(&c.slug.replace('-', " ")).as_str())
        })
        .map(|c| (c.slug, c.name))
        .collect()
}

/// The analytics question in the user's text, if any.
pub(super) fn parse_query(text: &str) -> Option<Query> {
    let t = normalise(text);
    let brands = brands_in(&t);
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
    let dimensions: Vec<Dimension> = [
        (&["age", "ages", "old"][..], Dimension::Age),
        (
            &["income", "incomes", "earn", "affluent"][..],
            Dimension::Income,
        ),
        (
            &["household", "households", "household size"][..],
            Dimension::HouseholdSize,
        ),
        (&["kids", "children", "families"][..], Dimension::Kids),
        (
            &["education", "educated", "degree"][..],
            Dimension::Education,
        ),
        (
            &["lifestyle", "segments", "segment", "psychographics"][..],
            Dimension::Lifestyle,
        ),
    ]
    .into_iter()
    .filter(|(words, _)| any(words))
    .map(|(_, d)| d)
    .collect();
    let geography = if any(&["distance band", "distance bands", "bands", "how far"]) {
        Some(OutputGeography::DistanceBand)
    } else if any(&["zip", "zips", "zip codes", "zip code", "postal codes"]) {
        Some(OutputGeography::Zip)
    } else if any(&["which cities", "home cities", "by city"]) {
        Some(OutputGeography::City)
    } else {
        None
    };
    let intent = if any(&["metros", "markets", "cities do you cover"])
        && brands.is_empty()
        && categories.is_empty()
    {
        Intent::Metros
    } else if any(&["personas", "persona"]) && brands.is_empty() && categories.is_empty() {
        Intent::Personas
    } else if brands.len() >= 2 && any(&["how far", "distance between", "far apart", "distance"]) {
        Intent::Distance
    } else if (brands.len() >= 2 || (brands.is_empty() && categories.len() >= 2))
        && any(&[
            "compare", "vs", "versus", "against", "or", "rank", "ranking", "rankings",
        ])
    {
        Intent::Compare
    } else if !brands.is_empty()
        && any(&[
            "competitors",
            "competitor",
            "competition",
            "competing",
            "competes",
            "compete",
            "rivals",
        ])
    {
        Intent::Competitors
    } else if any(&[
        "trade area",
        "come from",
        "live",
        "home zips",
        "drive from",
        "feed",
        "zip codes",
        "distance bands",
        "how far do",
    ]) {
        Intent::TradeArea
    } else if !dimensions.is_empty()
        || any(&[
            "audience",
            "demographic",
            "demographics",
            "who visits",
            "customers like",
            "breakdown",
        ])
    {
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
        "trend",
        "monthly",
        "weekly",
        "daily",
        "month by month",
        "week by week",
        "dwell",
        "how long",
        "year over year",
        "change",
    ]) && (!brands.is_empty() || !categories.is_empty())
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
        unknown_place: if metro.is_none() {
            unknown_place(text)
        } else {
            None
        },
        dimensions,
        geography,
        trend: if any(&["daily", "day by day", "per day"]) {
            Some(Granularity::Day)
        } else if any(&["weekly", "week by week", "per week"]) {
            Some(Granularity::Week)
        } else if any(&["monthly", "month by month", "per month", "trend"]) {
            Some(Granularity::Month)
        } else {
            None
        },
    })
}

/// The question a follow-up ("And in Dallas?", "What about 2023?", "Compare it with Dunkin'",
/// "How busy is it there?") asks, read against the conversation's last question: what the
/// new text names replaces what the earlier one did, the rest carries over. `None` when the
/// text is not a follow-up or nothing earlier was asked.
pub(super) fn follow_up(text: &str, earlier: Option<Query>) -> Option<Query> {
    let mut q = earlier?;
    let t = normalise(text);
    let any = |words: &[&str]| words.iter().any(|w| has(&t, w));
    let starts = |words: &[&str]| words.iter().any(|w| t.starts_with(&format!(" {w} ")));
    let leads = starts(&[
        "and",
        "what about",
        "how about",
        "same for",
        "now",
        "compare it",
    ]);
    let refers = leads || any(&["it", "there", "that place", "same"]);
    let words = t.split_whitespace().count();
    // Statements ("I work in Boston") are not follow-ups; new questions stand on their own.
    if !leads && !is_question(text) {
        return None;
    }
    if !refers
        && (words > 6
            || parse_query(text)
                .is_some_and(|own| !own.brands.is_empty() || !own.categories.is_empty()))
    {
        return None;
    }
    let parts = parse_parts(text);
    let new_year = ["2023", "2024", "2025"]
        .iter()
        .find(|y| has(&t, y))
        .and_then(|y| y.parse().ok());
    if parts.metro.is_none()
        && new_year.is_none()
        && parts.brands.is_empty()
        && parts.unknown_place.is_none()
    {
        return None;
    }
    if parts.metro.is_some() || parts.unknown_place.is_some() {
        q.metro = parts.metro;
        q.unknown_place = parts.unknown_place;
    }
    if new_year.is_some() {
        q.year = new_year;
    }
    if !parts.brands.is_empty() {
        if any(&["compare", "vs", "versus", "against"]) {
            for b in parts.brands {
                if !q.brands.contains(&b) {
                    q.brands.push(b);
                }
            }
            q.intent = Intent::Compare;
        } else {
            q.brands = parts.brands;
        }
    }
    Some(q)
}

/// What a text names, whatever it asks.
struct Parts {
    brands: Vec<(&'static str, &'static str)>,
    metro: Option<(&'static str, &'static str)>,
    unknown_place: Option<String>,
}

fn parse_parts(text: &str) -> Parts {
    let t = normalise(text);
    let brands = brands_in(&t);
    let metro = METROS
        .iter()
        .filter(|m| t.contains(normalise(m.name).as_str()))
        .max_by_key(|m| m.name.len())
        .map(|m| (m.slug, m.name));
    Parts {
        brands,
        metro,
        unknown_place: if metro.is_none() {
            unknown_place(text)
        } else {
            None
        },
    }
}

/// Personal facts stated by the user, as lines for the `human` block.
/// The labels of the facts [`personal_facts`] writes (`Label: what`).
pub(super) const FACT_LABELS: &[&str] = &[
    "Name",
    "Likes",
    "Prefers",
    "Works in",
    "Based in",
    "Cares about",
    "Focuses on",
];

pub(super) fn personal_facts(text: &str) -> Vec<String> {
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
        ("i work in ", "Works in"),
        ("i'm based in ", "Based in"),
        ("i am based in ", "Based in"),
        ("i care about ", "Cares about"),
        ("i focus on ", "Focuses on"),
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
    ("brand manager", "brand_management"),
    ("brand management", "brand_management"),
];

/// A persona handle from statements like "I lead real estate for a QSR chain".
pub(super) fn persona_statement(text: &str) -> Option<String> {
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

/// Whether the text asks something (rather than only stating facts).
pub(super) fn is_question(text: &str) -> bool {
    let t = normalise(text);
    text.contains('?')
        || [
            "which", "what", "how", "where", "who", "compare", "show", "list",
        ]
        .iter()
        .any(|w| t.starts_with(&format!(" {w} ")))
}
