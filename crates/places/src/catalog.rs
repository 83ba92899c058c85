//! Static facts the synthetic data set is built from: categories and their behaviour, national
//! and regional chains, the largest US metros (2020 census populations), and name parts for
//! independents. Brand names are real; every figure attached to them is synthetic.

use serde::{Deserialize, Serialize};

/// A place category.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Coffee shops.
    Coffee,
    /// Quick-service restaurants.
    Qsr,
    /// Fast casual restaurants.
    FastCasual,
    /// Grocery stores.
    Grocery,
    /// Big-box general merchandise.
    BigBox,
    /// Membership warehouse clubs.
    WholesaleClub,
    /// Pharmacies.
    Pharmacy,
    /// Convenience stores and gas stations.
    Convenience,
    /// Gyms.
    Fitness,
    /// Movie theaters.
    Cinema,
    /// Shopping malls.
    Mall,
    /// Golf and golf entertainment.
    Golf,
    /// Bars and pubs.
    Bar,
    /// Home improvement stores.
    HomeImprovement,
}

/// Every category, in a fixed order (index = `Category as usize`).
pub const CATEGORIES: [Category; 14] = [
    Category::Coffee,
    Category::Qsr,
    Category::FastCasual,
    Category::Grocery,
    Category::BigBox,
    Category::WholesaleClub,
    Category::Pharmacy,
    Category::Convenience,
    Category::Fitness,
    Category::Cinema,
    Category::Mall,
    Category::Golf,
    Category::Bar,
    Category::HomeImprovement,
];

impl Category {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coffee => "coffee",
            Self::Qsr => "qsr",
            Self::FastCasual => "fast_casual",
            Self::Grocery => "grocery",
            Self::BigBox => "big_box",
            Self::WholesaleClub => "wholesale_club",
            Self::Pharmacy => "pharmacy",
            Self::Convenience => "convenience",
            Self::Fitness => "fitness",
            Self::Cinema => "cinema",
            Self::Mall => "mall",
            Self::Golf => "golf",
            Self::Bar => "bar",
            Self::HomeImprovement => "home_improvement",
        }
    }

    /// Parses a name or a common synonym (`restaurant` is not a category; `fast food` is QSR).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase().replace(['-', ' '], "_");
        let s = s.strip_prefix("category:").unwrap_or(&s);
        Some(match s {
            "coffee" | "cafe" | "coffee_shop" | "coffee_shops" => Self::Coffee,
            "qsr" | "fast_food" | "quick_service" => Self::Qsr,
            "fast_casual" => Self::FastCasual,
            "grocery" | "groceries" | "supermarket" | "grocery_store" => Self::Grocery,
            "big_box" | "bigbox" | "discount_store" => Self::BigBox,
            "wholesale_club" | "wholesale" | "warehouse_club" => Self::WholesaleClub,
            "pharmacy" | "drugstore" | "drug_store" => Self::Pharmacy,
            "convenience" | "convenience_store" | "gas_station" => Self::Convenience,
            "fitness" | "gym" | "gyms" => Self::Fitness,
            "cinema" | "movie_theater" | "movies" | "theater" => Self::Cinema,
            "mall" | "malls" | "shopping_mall" => Self::Mall,
            "golf" => Self::Golf,
            "bar" | "bars" | "pub" | "pubs" => Self::Bar,
            "home_improvement" | "hardware" => Self::HomeImprovement,
            _ => return None,
        })
    }

    /// Behaviour of the category.
    pub fn params(self) -> &'static CategoryParams {
        &PARAMS[self as usize]
    }
}

/// How visits to a category behave.
#[derive(Debug)]
pub struct CategoryParams {
    /// Median daily visits of a typical location.
    pub base_daily: f32,
    /// Spread of location sizes (lognormal sigma).
    pub size_sigma: f32,
    /// Monday..Sunday multipliers (mean 1).
    pub weekday: [f32; 7],
    /// Share of a day's visits by hour 0..23 (sums to 1 after normalisation).
    pub hours: [f32; 24],
    /// January..December multipliers (mean ≈ 1).
    pub season: [f32; 12],
    /// Median dwell, minutes.
    pub dwell_median: f32,
    /// Dwell spread (lognormal sigma).
    pub dwell_sigma: f32,
    /// Average visits per visitor in a 30-day period.
    pub monthly_frequency: f32,
    /// Trade-area distance decay, km.
    pub decay_km: f32,
    /// Farthest home ZIP considered, km.
    pub reach_km: f32,
    /// Typical floor area, sq ft.
    pub sqft: f32,
}

const fn h(v: [f32; 24]) -> [f32; 24] {
    v
}

const MORNING: [f32; 24] = h([
    0.0, 0.0, 0.0, 0.0, 0.2, 1.5, 5.0, 9.0, 10.0, 8.5, 7.0, 6.5, 6.5, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5,
    2.8, 2.0, 1.2, 0.5, 0.1,
]);
const MEALS: [f32; 24] = h([
    0.8, 0.5, 0.3, 0.2, 0.3, 0.8, 2.5, 4.0, 4.0, 3.0, 4.0, 9.0, 11.0, 7.5, 4.5, 4.0, 5.0, 8.0, 9.0,
    7.0, 4.5, 3.0, 2.0, 1.2,
]);
const RETAIL: [f32; 24] = h([
    0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1.0, 2.5, 4.0, 5.5, 7.0, 8.0, 8.5, 8.5, 8.0, 8.0, 8.5, 8.5, 7.5,
    6.0, 4.0, 2.0, 0.8, 0.3,
]);
const ALL_DAY: [f32; 24] = h([
    1.5, 1.2, 1.0, 1.0, 1.5, 3.0, 5.0, 6.5, 6.0, 5.0, 4.5, 5.0, 5.5, 5.0, 5.0, 5.5, 6.5, 7.0, 6.0,
    5.0, 4.0, 3.0, 2.5, 2.0,
]);
const GYM: [f32; 24] = h([
    0.5, 0.3, 0.2, 0.3, 1.5, 6.0, 8.0, 6.5, 5.0, 4.5, 4.0, 4.0, 5.0, 3.5, 3.0, 3.5, 6.0, 9.0, 9.5,
    7.5, 4.5, 2.5, 1.0, 0.5,
]);
const EVENING: [f32; 24] = h([
    0.5, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.0, 3.5, 4.0, 4.5, 5.5, 6.5, 9.0, 12.0,
    14.0, 14.0, 11.0, 6.0, 2.5,
]);
const NIGHT: [f32; 24] = h([
    6.0, 4.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.5, 2.5, 2.5, 3.0, 4.5, 7.0, 9.5,
    11.0, 12.0, 12.5, 11.0, 8.0,
]);
const DAYLIGHT: [f32; 24] = h([
    0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 3.0, 6.5, 8.5, 9.0, 9.0, 9.0, 8.5, 8.0, 8.0, 8.0, 7.5, 6.5, 5.0,
    2.5, 1.0, 0.5, 0.0, 0.0,
]);

const FLAT: [f32; 12] = [
    0.94, 0.93, 0.99, 1.0, 1.03, 1.03, 1.04, 1.03, 0.99, 1.0, 0.99, 1.03,
];

static PARAMS: [CategoryParams; 14] = [
    // Coffee
    CategoryParams {
        base_daily: 380.0,
        size_sigma: 0.35,
        weekday: [1.05, 1.06, 1.06, 1.06, 1.05, 0.9, 0.82],
        hours: MORNING,
        season: [
            0.97, 0.95, 1.0, 1.0, 1.02, 1.0, 0.98, 0.98, 1.0, 1.02, 1.01, 1.07,
        ],
        dwell_median: 7.0,
        dwell_sigma: 0.7,
        monthly_frequency: 3.4,
        decay_km: 2.5,
        reach_km: 12.0,
        sqft: 1_800.0,
    },
    // QSR
    CategoryParams {
        base_daily: 950.0,
        size_sigma: 0.3,
        weekday: [0.94, 0.95, 0.97, 1.0, 1.12, 1.06, 0.96],
        hours: MEALS,
        season: FLAT,
        dwell_median: 8.0,
        dwell_sigma: 0.6,
        monthly_frequency: 2.6,
        decay_km: 3.0,
        reach_km: 15.0,
        sqft: 3_200.0,
    },
    // Fast casual
    CategoryParams {
        base_daily: 480.0,
        size_sigma: 0.3,
        weekday: [0.92, 0.97, 1.0, 1.03, 1.12, 1.04, 0.92],
        hours: MEALS,
        season: FLAT,
        dwell_median: 22.0,
        dwell_sigma: 0.5,
        monthly_frequency: 1.9,
        decay_km: 4.0,
        reach_km: 18.0,
        sqft: 2_600.0,
    },
    // Grocery
    CategoryParams {
        base_daily: 1_900.0,
        size_sigma: 0.35,
        weekday: [0.92, 0.88, 0.9, 0.95, 1.05, 1.2, 1.1],
        hours: RETAIL,
        season: [
            0.98, 0.94, 0.99, 0.98, 1.0, 0.99, 1.0, 0.99, 0.96, 0.99, 1.05, 1.13,
        ],
        dwell_median: 24.0,
        dwell_sigma: 0.45,
        monthly_frequency: 4.3,
        decay_km: 3.5,
        reach_km: 16.0,
        sqft: 45_000.0,
    },
    // Big box
    CategoryParams {
        base_daily: 3_600.0,
        size_sigma: 0.3,
        weekday: [0.9, 0.85, 0.87, 0.92, 1.05, 1.3, 1.11],
        hours: RETAIL,
        season: [
            0.92, 0.88, 0.96, 0.96, 1.0, 0.98, 1.0, 1.05, 0.95, 0.97, 1.08, 1.3,
        ],
        dwell_median: 32.0,
        dwell_sigma: 0.45,
        monthly_frequency: 2.8,
        decay_km: 7.0,
        reach_km: 30.0,
        sqft: 130_000.0,
    },
    // Wholesale club
    CategoryParams {
        base_daily: 4_600.0,
        size_sigma: 0.25,
        weekday: [0.86, 0.82, 0.84, 0.9, 1.02, 1.38, 1.18],
        hours: RETAIL,
        season: [
            0.93, 0.9, 0.97, 0.97, 1.02, 1.0, 1.02, 1.02, 0.95, 0.97, 1.06, 1.2,
        ],
        dwell_median: 40.0,
        dwell_sigma: 0.4,
        monthly_frequency: 2.2,
        decay_km: 10.0,
        reach_km: 40.0,
        sqft: 145_000.0,
    },
    // Pharmacy
    CategoryParams {
        base_daily: 620.0,
        size_sigma: 0.3,
        weekday: [1.08, 1.04, 1.02, 1.03, 1.06, 0.98, 0.79],
        hours: RETAIL,
        season: [
            1.08, 1.04, 1.02, 0.97, 0.97, 0.95, 0.95, 0.96, 0.98, 1.02, 1.02, 1.04,
        ],
        dwell_median: 11.0,
        dwell_sigma: 0.55,
        monthly_frequency: 2.1,
        decay_km: 2.5,
        reach_km: 12.0,
        sqft: 13_000.0,
    },
    // Convenience
    CategoryParams {
        base_daily: 760.0,
        size_sigma: 0.35,
        weekday: [0.98, 0.97, 0.98, 1.0, 1.1, 1.02, 0.95],
        hours: ALL_DAY,
        season: [
            0.92, 0.92, 0.98, 1.0, 1.04, 1.06, 1.08, 1.07, 1.01, 1.0, 0.96, 0.96,
        ],
        dwell_median: 4.0,
        dwell_sigma: 0.5,
        monthly_frequency: 5.0,
        decay_km: 2.0,
        reach_km: 10.0,
        sqft: 3_000.0,
    },
    // Fitness
    CategoryParams {
        base_daily: 520.0,
        size_sigma: 0.35,
        weekday: [1.2, 1.14, 1.1, 1.04, 0.9, 0.8, 0.82],
        hours: GYM,
        season: [
            1.32, 1.14, 1.06, 1.0, 0.97, 0.92, 0.9, 0.92, 0.98, 0.98, 0.92, 0.89,
        ],
        dwell_median: 58.0,
        dwell_sigma: 0.35,
        monthly_frequency: 7.5,
        decay_km: 3.5,
        reach_km: 15.0,
        sqft: 22_000.0,
    },
    // Cinema
    CategoryParams {
        base_daily: 820.0,
        size_sigma: 0.4,
        weekday: [0.65, 0.85, 0.7, 0.78, 1.25, 1.6, 1.17],
        hours: EVENING,
        season: [
            0.85, 0.82, 0.92, 0.95, 1.02, 1.18, 1.25, 1.08, 0.8, 0.88, 1.05, 1.2,
        ],
        dwell_median: 142.0,
        dwell_sigma: 0.15,
        monthly_frequency: 1.2,
        decay_km: 7.0,
        reach_km: 30.0,
        sqft: 50_000.0,
    },
    // Mall
    CategoryParams {
        base_daily: 13_000.0,
        size_sigma: 0.45,
        weekday: [0.8, 0.78, 0.8, 0.86, 1.05, 1.52, 1.19],
        hours: RETAIL,
        season: [
            0.86, 0.84, 0.94, 0.95, 1.0, 0.99, 1.02, 1.08, 0.93, 0.94, 1.05, 1.4,
        ],
        dwell_median: 72.0,
        dwell_sigma: 0.45,
        monthly_frequency: 1.6,
        decay_km: 10.0,
        reach_km: 45.0,
        sqft: 900_000.0,
    },
    // Golf
    CategoryParams {
        base_daily: 640.0,
        size_sigma: 0.4,
        weekday: [0.72, 0.74, 0.8, 0.9, 1.15, 1.46, 1.23],
        hours: DAYLIGHT,
        season: [
            0.55, 0.62, 0.88, 1.08, 1.22, 1.3, 1.3, 1.25, 1.12, 1.0, 0.78, 0.6,
        ],
        dwell_median: 110.0,
        dwell_sigma: 0.4,
        monthly_frequency: 1.5,
        decay_km: 9.0,
        reach_km: 40.0,
        sqft: 65_000.0,
    },
    // Bar
    CategoryParams {
        base_daily: 260.0,
        size_sigma: 0.45,
        weekday: [0.6, 0.62, 0.75, 0.95, 1.45, 1.65, 0.98],
        hours: NIGHT,
        season: [
            0.9, 0.93, 1.02, 0.98, 1.02, 1.04, 1.05, 1.03, 0.98, 1.0, 0.97, 1.08,
        ],
        dwell_median: 75.0,
        dwell_sigma: 0.5,
        monthly_frequency: 2.0,
        decay_km: 3.0,
        reach_km: 15.0,
        sqft: 3_500.0,
    },
    // Home improvement
    CategoryParams {
        base_daily: 2_300.0,
        size_sigma: 0.3,
        weekday: [0.92, 0.88, 0.88, 0.9, 0.98, 1.3, 1.14],
        hours: RETAIL,
        season: [
            0.82, 0.84, 1.0, 1.18, 1.2, 1.1, 1.04, 1.0, 0.96, 0.98, 0.94, 0.94,
        ],
        dwell_median: 26.0,
        dwell_sigma: 0.5,
        monthly_frequency: 2.3,
        decay_km: 7.0,
        reach_km: 30.0,
        sqft: 105_000.0,
    },
];

/// A chain.
#[derive(Debug)]
pub struct ChainDef {
    /// Slug (`starbucks`), used in `chain:<slug>` ids.
    pub slug: &'static str,
    /// Brand name.
    pub name: &'static str,
    /// Category.
    pub category: Category,
    /// Approximate US store count (drives the synthetic footprint).
    pub us_stores: u32,
    /// Busier or quieter than the category's typical location.
    pub strength: f32,
    /// Yearly visit growth (0.03 = +3 % per year), synthetic.
    pub growth: f32,
    /// States it operates in; empty = national.
    pub states: &'static [&'static str],
    /// Whether the brand is real (national) or an invented regional chain.
    pub invented: bool,
    /// Tags every location carries.
    pub tags: &'static [&'static str],
}

macro_rules! chain {
    ($slug:literal, $name:literal, $cat:ident, $stores:literal, $strength:literal, $growth:literal, [$($st:literal),*], $inv:literal, [$($tag:literal),*]) => {
        ChainDef { slug: $slug, name: $name, category: Category::$cat, us_stores: $stores, strength: $strength, growth: $growth, states: &[$($st),*], invented: $inv, tags: &[$($tag),*] }
    };
}

/// Chains: national brands (real names, synthetic figures) and invented regional chains.
pub static CHAINS: &[ChainDef] = &[
    chain!(
        "starbucks",
        "Starbucks",
        Coffee,
        16000,
        1.15,
        0.01,
        [],
        false,
        ["drive_thru", "wifi", "mobile_order"]
    ),
    chain!(
        "dunkin",
        "Dunkin'",
        Coffee,
        9500,
        0.95,
        0.02,
        [],
        false,
        ["drive_thru", "mobile_order"]
    ),
    chain!(
        "dutch-bros",
        "Dutch Bros",
        Coffee,
        950,
        1.25,
        0.09,
        [
            "OR", "WA", "CA", "AZ", "NV", "ID", "TX", "CO", "OK", "UT", "NM"
        ],
        false,
        ["drive_thru"]
    ),
    chain!(
        "mcdonalds",
        "McDonald's",
        Qsr,
        13500,
        1.2,
        0.015,
        [],
        false,
        ["drive_thru", "24h"]
    ),
    chain!(
        "chick-fil-a",
        "Chick-fil-A",
        Qsr,
        3000,
        1.65,
        0.06,
        [],
        false,
        ["drive_thru", "closed_sunday"]
    ),
    chain!(
        "taco-bell",
        "Taco Bell",
        Qsr,
        7500,
        1.0,
        0.02,
        [],
        false,
        ["drive_thru", "late_night"]
    ),
    chain!(
        "wendys",
        "Wendy's",
        Qsr,
        6000,
        0.9,
        0.0,
        [],
        false,
        ["drive_thru"]
    ),
    chain!(
        "burger-king",
        "Burger King",
        Qsr,
        7000,
        0.8,
        -0.02,
        [],
        false,
        ["drive_thru"]
    ),
    chain!("subway", "Subway", Qsr, 20000, 0.45, -0.04, [], false, []),
    chain!(
        "chipotle",
        "Chipotle",
        FastCasual,
        3400,
        1.3,
        0.05,
        [],
        false,
        ["mobile_order"]
    ),
    chain!(
        "panera-bread",
        "Panera Bread",
        FastCasual,
        2100,
        1.1,
        0.0,
        [],
        false,
        ["wifi", "drive_thru"]
    ),
    chain!(
        "sweetgreen",
        "Sweetgreen",
        FastCasual,
        220,
        1.15,
        0.07,
        [],
        false,
        ["mobile_order"]
    ),
    chain!(
        "walmart",
        "Walmart",
        BigBox,
        4600,
        1.25,
        0.02,
        [],
        false,
        ["pharmacy", "grocery"]
    ),
    chain!(
        "target",
        "Target",
        BigBox,
        1950,
        1.0,
        0.0,
        [],
        false,
        ["pharmacy", "drive_up"]
    ),
    chain!(
        "costco",
        "Costco",
        WholesaleClub,
        600,
        1.35,
        0.04,
        [],
        false,
        ["gas", "membership"]
    ),
    chain!(
        "sams-club",
        "Sam's Club",
        WholesaleClub,
        600,
        0.95,
        0.02,
        [],
        false,
        ["gas", "membership"]
    ),
    chain!(
        "bjs-wholesale-club",
        "BJ's Wholesale Club",
        WholesaleClub,
        240,
        0.9,
        0.03,
        [
            "ME", "NH", "MA", "RI", "CT", "NY", "NJ", "PA", "DE", "MD", "VA", "NC", "SC", "GA",
            "FL", "OH", "MI"
        ],
        false,
        ["gas", "membership"]
    ),
    chain!(
        "kroger",
        "Kroger",
        Grocery,
        2700,
        1.0,
        0.01,
        [
            "OH", "MI", "IN", "KY", "TN", "GA", "TX", "VA", "WV", "IL", "MS", "AL", "SC", "NC",
            "LA", "AR"
        ],
        false,
        ["pharmacy", "pickup"]
    ),
    chain!(
        "whole-foods-market",
        "Whole Foods Market",
        Grocery,
        530,
        0.95,
        0.03,
        [],
        false,
        ["organic"]
    ),
    chain!(
        "trader-joes",
        "Trader Joe's",
        Grocery,
        560,
        1.2,
        0.03,
        [],
        false,
        []
    ),
    chain!(
        "publix",
        "Publix",
        Grocery,
        1350,
        1.05,
        0.02,
        ["FL", "GA", "AL", "SC", "NC", "TN", "VA", "KY"],
        false,
        ["pharmacy"]
    ),
    chain!(
        "h-e-b",
        "H-E-B",
        Grocery,
        420,
        1.4,
        0.04,
        ["TX"],
        false,
        ["pharmacy", "curbside"]
    ),
    chain!(
        "cvs-pharmacy",
        "CVS Pharmacy",
        Pharmacy,
        9000,
        1.0,
        -0.02,
        [],
        false,
        ["pharmacy", "drive_thru"]
    ),
    chain!(
        "walgreens",
        "Walgreens",
        Pharmacy,
        8500,
        0.95,
        -0.03,
        [],
        false,
        ["pharmacy", "drive_thru", "24h"]
    ),
    chain!(
        "7-eleven",
        "7-Eleven",
        Convenience,
        9000,
        0.95,
        0.0,
        [],
        false,
        ["24h"]
    ),
    chain!(
        "wawa",
        "Wawa",
        Convenience,
        1000,
        1.6,
        0.04,
        ["PA", "NJ", "DE", "MD", "VA", "FL", "DC"],
        false,
        ["24h", "gas"]
    ),
    chain!(
        "circle-k",
        "Circle K",
        Convenience,
        7000,
        0.85,
        0.0,
        [],
        false,
        ["gas", "24h"]
    ),
    chain!(
        "planet-fitness",
        "Planet Fitness",
        Fitness,
        2500,
        1.2,
        0.05,
        [],
        false,
        ["membership", "24h"]
    ),
    chain!(
        "la-fitness",
        "LA Fitness",
        Fitness,
        700,
        1.1,
        0.01,
        [],
        false,
        ["membership", "pool"]
    ),
    chain!(
        "crunch-fitness",
        "Crunch Fitness",
        Fitness,
        450,
        1.0,
        0.06,
        [],
        false,
        ["membership"]
    ),
    chain!(
        "amc-theatres",
        "AMC Theatres",
        Cinema,
        570,
        1.15,
        0.03,
        [],
        false,
        ["imax", "dine_in"]
    ),
    chain!(
        "regal",
        "Regal",
        Cinema,
        400,
        0.95,
        -0.02,
        [],
        false,
        ["imax"]
    ),
    chain!(
        "cinemark",
        "Cinemark",
        Cinema,
        300,
        1.0,
        0.02,
        [],
        false,
        ["xd"]
    ),
    chain!(
        "topgolf",
        "Topgolf",
        Golf,
        90,
        2.4,
        0.06,
        [],
        false,
        ["entertainment", "dine_in"]
    ),
    chain!(
        "the-home-depot",
        "The Home Depot",
        HomeImprovement,
        2000,
        1.15,
        0.01,
        [],
        false,
        ["pro_desk", "garden_center"]
    ),
    chain!(
        "lowes",
        "Lowe's",
        HomeImprovement,
        1700,
        1.0,
        0.0,
        [],
        false,
        ["garden_center"]
    ),
    chain!(
        "buffalo-wild-wings",
        "Buffalo Wild Wings",
        Bar,
        1200,
        1.6,
        -0.01,
        [],
        false,
        ["sports", "dine_in"]
    ),
    // Invented regional chains.
    chain!(
        "lone-star-roasters",
        "Lone Star Roasters",
        Coffee,
        420,
        1.0,
        0.05,
        ["TX"],
        true,
        ["regional", "wifi"]
    ),
    chain!(
        "cascade-bean-co",
        "Cascade Bean Co.",
        Coffee,
        380,
        1.0,
        0.03,
        ["WA", "OR", "ID"],
        true,
        ["regional", "wifi"]
    ),
    chain!(
        "bayou-burger-co",
        "Bayou Burger Co.",
        Qsr,
        520,
        1.05,
        0.03,
        ["LA", "MS", "TX", "AL"],
        true,
        ["regional", "drive_thru"]
    ),
    chain!(
        "greenfield-bowls",
        "Greenfield Bowls",
        FastCasual,
        300,
        1.0,
        0.08,
        ["CA", "OR", "WA", "AZ", "CO"],
        true,
        ["regional", "mobile_order"]
    ),
    chain!(
        "prairie-market",
        "Prairie Market",
        Grocery,
        350,
        0.9,
        0.01,
        ["KS", "MO", "NE", "OK", "IA"],
        true,
        ["regional"]
    ),
    chain!(
        "sunbelt-fresh",
        "Sunbelt Fresh",
        Grocery,
        400,
        0.95,
        0.03,
        ["FL", "GA", "SC", "AL"],
        true,
        ["regional", "pharmacy"]
    ),
    chain!(
        "keystone-quick-mart",
        "Keystone Quick Mart",
        Convenience,
        650,
        0.9,
        0.0,
        ["PA", "OH", "NY", "WV"],
        true,
        ["regional", "gas", "24h"]
    ),
    chain!(
        "summit-fuel-and-food",
        "Summit Fuel & Food",
        Convenience,
        500,
        0.95,
        0.02,
        ["CO", "UT", "NV", "AZ", "NM"],
        true,
        ["regional", "gas"]
    ),
    chain!(
        "harbor-pharmacy",
        "Harbor Pharmacy",
        Pharmacy,
        260,
        0.85,
        -0.01,
        ["MA", "RI", "CT", "NH", "ME"],
        true,
        ["regional", "pharmacy"]
    ),
    chain!(
        "ironworks-gym",
        "IronWorks Gym",
        Fitness,
        240,
        1.0,
        0.04,
        ["CA", "AZ", "NV"],
        true,
        ["regional", "membership"]
    ),
    chain!(
        "marquee-cinemas",
        "Marquee Cinemas",
        Cinema,
        120,
        0.85,
        0.0,
        ["VA", "NC", "WV", "SC"],
        true,
        ["regional"]
    ),
    chain!(
        "rustic-tap-house",
        "Rustic Tap House",
        Bar,
        300,
        1.1,
        0.02,
        ["TN", "KY", "GA", "AL"],
        true,
        ["regional", "live_music"]
    ),
];

/// A metro area.
#[derive(Debug)]
pub struct MetroDef {
    /// Slug (`austin`), used in `metro:<slug>` ids.
    pub slug: &'static str,
    /// Name (principal city).
    pub name: &'static str,
    /// Census metro area title.
    pub title: &'static str,
    /// State of the principal city.
    pub state: &'static str,
    /// 2020 census population of the metro area.
    pub population: u32,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
}

macro_rules! metro {
    ($slug:literal, $name:literal, $title:literal, $st:literal, $pop:literal, $lat:literal, $lon:literal) => {
        MetroDef {
            slug: $slug,
            name: $name,
            title: $title,
            state: $st,
            population: $pop,
            lat: $lat,
            lon: $lon,
        }
    };
}

/// The 60 largest US metro areas, 2020 census populations.
pub static METROS: &[MetroDef] = &[
    metro!(
        "new-york",
        "New York",
        "New York-Newark-Jersey City, NY-NJ-PA",
        "NY",
        20_140_470,
        40.7128,
        -74.0060
    ),
    metro!(
        "los-angeles",
        "Los Angeles",
        "Los Angeles-Long Beach-Anaheim, CA",
        "CA",
        13_200_998,
        34.0522,
        -118.2437
    ),
    metro!(
        "chicago",
        "Chicago",
        "Chicago-Naperville-Elgin, IL-IN-WI",
        "IL",
        9_618_502,
        41.8781,
        -87.6298
    ),
    metro!(
        "dallas",
        "Dallas",
        "Dallas-Fort Worth-Arlington, TX",
        "TX",
        7_637_387,
        32.7767,
        -96.7970
    ),
    metro!(
        "houston",
        "Houston",
        "Houston-The Woodlands-Sugar Land, TX",
        "TX",
        7_122_240,
        29.7604,
        -95.3698
    ),
    metro!(
        "washington",
        "Washington",
        "Washington-Arlington-Alexandria, DC-VA-MD-WV",
        "DC",
        6_385_162,
        38.9072,
        -77.0369
    ),
    metro!(
        "philadelphia",
        "Philadelphia",
        "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
        "PA",
        6_245_051,
        39.9526,
        -75.1652
    ),
    metro!(
        "miami",
        "Miami",
        "Miami-Fort Lauderdale-Pompano Beach, FL",
        "FL",
        6_138_333,
        25.7617,
        -80.1918
    ),
    metro!(
        "atlanta",
        "Atlanta",
        "Atlanta-Sandy Springs-Alpharetta, GA",
        "GA",
        6_089_815,
        33.7490,
        -84.3880
    ),
    metro!(
        "boston",
        "Boston",
        "Boston-Cambridge-Newton, MA-NH",
        "MA",
        4_941_632,
        42.3601,
        -71.0589
    ),
    metro!(
        "phoenix",
        "Phoenix",
        "Phoenix-Mesa-Chandler, AZ",
        "AZ",
        4_845_832,
        33.4484,
        -112.0740
    ),
    metro!(
        "san-francisco",
        "San Francisco",
        "San Francisco-Oakland-Berkeley, CA",
        "CA",
        4_749_008,
        37.7749,
        -122.4194
    ),
    metro!(
        "riverside",
        "Riverside",
        "Riverside-San Bernardino-Ontario, CA",
        "CA",
        4_599_839,
        33.9806,
        -117.3755
    ),
    metro!(
        "detroit",
        "Detroit",
        "Detroit-Warren-Dearborn, MI",
        "MI",
        4_392_041,
        42.3314,
        -83.0458
    ),
    metro!(
        "seattle",
        "Seattle",
        "Seattle-Tacoma-Bellevue, WA",
        "WA",
        4_018_762,
        47.6062,
        -122.3321
    ),
    metro!(
        "minneapolis",
        "Minneapolis",
        "Minneapolis-St. Paul-Bloomington, MN-WI",
        "MN",
        3_690_261,
        44.9778,
        -93.2650
    ),
    metro!(
        "san-diego",
        "San Diego",
        "San Diego-Chula Vista-Carlsbad, CA",
        "CA",
        3_298_634,
        32.7157,
        -117.1611
    ),
    metro!(
        "tampa",
        "Tampa",
        "Tampa-St. Petersburg-Clearwater, FL",
        "FL",
        3_175_275,
        27.9506,
        -82.4572
    ),
    metro!(
        "denver",
        "Denver",
        "Denver-Aurora-Lakewood, CO",
        "CO",
        2_963_821,
        39.7392,
        -104.9903
    ),
    metro!(
        "baltimore",
        "Baltimore",
        "Baltimore-Columbia-Towson, MD",
        "MD",
        2_844_510,
        39.2904,
        -76.6122
    ),
    metro!(
        "st-louis",
        "St. Louis",
        "St. Louis, MO-IL",
        "MO",
        2_820_253,
        38.6270,
        -90.1994
    ),
    metro!(
        "orlando",
        "Orlando",
        "Orlando-Kissimmee-Sanford, FL",
        "FL",
        2_673_376,
        28.5383,
        -81.3792
    ),
    metro!(
        "charlotte",
        "Charlotte",
        "Charlotte-Concord-Gastonia, NC-SC",
        "NC",
        2_660_329,
        35.2271,
        -80.8431
    ),
    metro!(
        "san-antonio",
        "San Antonio",
        "San Antonio-New Braunfels, TX",
        "TX",
        2_558_143,
        29.4241,
        -98.4936
    ),
    metro!(
        "portland",
        "Portland",
        "Portland-Vancouver-Hillsboro, OR-WA",
        "OR",
        2_512_859,
        45.5152,
        -122.6784
    ),
    metro!(
        "sacramento",
        "Sacramento",
        "Sacramento-Roseville-Folsom, CA",
        "CA",
        2_397_382,
        38.5816,
        -121.4944
    ),
    metro!(
        "pittsburgh",
        "Pittsburgh",
        "Pittsburgh, PA",
        "PA",
        2_370_930,
        40.4406,
        -79.9959
    ),
    metro!(
        "austin",
        "Austin",
        "Austin-Round Rock-Georgetown, TX",
        "TX",
        2_283_371,
        30.2672,
        -97.7431
    ),
    metro!(
        "las-vegas",
        "Las Vegas",
        "Las Vegas-Henderson-Paradise, NV",
        "NV",
        2_265_461,
        36.1699,
        -115.1398
    ),
    metro!(
        "cincinnati",
        "Cincinnati",
        "Cincinnati, OH-KY-IN",
        "OH",
        2_256_884,
        39.1031,
        -84.5120
    ),
    metro!(
        "kansas-city",
        "Kansas City",
        "Kansas City, MO-KS",
        "MO",
        2_192_035,
        39.0997,
        -94.5786
    ),
    metro!(
        "columbus",
        "Columbus",
        "Columbus, OH",
        "OH",
        2_138_926,
        39.9612,
        -82.9988
    ),
    metro!(
        "indianapolis",
        "Indianapolis",
        "Indianapolis-Carmel-Anderson, IN",
        "IN",
        2_111_040,
        39.7684,
        -86.1581
    ),
    metro!(
        "cleveland",
        "Cleveland",
        "Cleveland-Elyria, OH",
        "OH",
        2_088_251,
        41.4993,
        -81.6944
    ),
    metro!(
        "san-jose",
        "San Jose",
        "San Jose-Sunnyvale-Santa Clara, CA",
        "CA",
        2_000_468,
        37.3382,
        -121.8863
    ),
    metro!(
        "nashville",
        "Nashville",
        "Nashville-Davidson-Murfreesboro-Franklin, TN",
        "TN",
        1_989_519,
        36.1627,
        -86.7816
    ),
    metro!(
        "virginia-beach",
        "Virginia Beach",
        "Virginia Beach-Norfolk-Newport News, VA-NC",
        "VA",
        1_799_674,
        36.8529,
        -75.9780
    ),
    metro!(
        "providence",
        "Providence",
        "Providence-Warwick, RI-MA",
        "RI",
        1_676_579,
        41.8240,
        -71.4128
    ),
    metro!(
        "jacksonville",
        "Jacksonville",
        "Jacksonville, FL",
        "FL",
        1_605_848,
        30.3322,
        -81.6557
    ),
    metro!(
        "milwaukee",
        "Milwaukee",
        "Milwaukee-Waukesha, WI",
        "WI",
        1_574_731,
        43.0389,
        -87.9065
    ),
    metro!(
        "oklahoma-city",
        "Oklahoma City",
        "Oklahoma City, OK",
        "OK",
        1_425_695,
        35.4676,
        -97.5164
    ),
    metro!(
        "raleigh",
        "Raleigh",
        "Raleigh-Cary, NC",
        "NC",
        1_413_982,
        35.7796,
        -78.6382
    ),
    metro!(
        "memphis",
        "Memphis",
        "Memphis, TN-MS-AR",
        "TN",
        1_337_779,
        35.1495,
        -90.0490
    ),
    metro!(
        "richmond",
        "Richmond",
        "Richmond, VA",
        "VA",
        1_314_434,
        37.5407,
        -77.4360
    ),
    metro!(
        "louisville",
        "Louisville",
        "Louisville/Jefferson County, KY-IN",
        "KY",
        1_285_439,
        38.2527,
        -85.7585
    ),
    metro!(
        "new-orleans",
        "New Orleans",
        "New Orleans-Metairie, LA",
        "LA",
        1_271_845,
        29.9511,
        -90.0715
    ),
    metro!(
        "salt-lake-city",
        "Salt Lake City",
        "Salt Lake City, UT",
        "UT",
        1_257_936,
        40.7608,
        -111.8910
    ),
    metro!(
        "hartford",
        "Hartford",
        "Hartford-East Hartford-Middletown, CT",
        "CT",
        1_213_531,
        41.7658,
        -72.6734
    ),
    metro!(
        "buffalo",
        "Buffalo",
        "Buffalo-Cheektowaga, NY",
        "NY",
        1_166_902,
        42.8864,
        -78.8784
    ),
    metro!(
        "birmingham",
        "Birmingham",
        "Birmingham-Hoover, AL",
        "AL",
        1_115_289,
        33.5186,
        -86.8104
    ),
    metro!(
        "rochester",
        "Rochester",
        "Rochester, NY",
        "NY",
        1_090_135,
        43.1566,
        -77.6088
    ),
    metro!(
        "grand-rapids",
        "Grand Rapids",
        "Grand Rapids-Kentwood, MI",
        "MI",
        1_087_592,
        42.9634,
        -85.6681
    ),
    metro!(
        "tucson",
        "Tucson",
        "Tucson, AZ",
        "AZ",
        1_043_433,
        32.2226,
        -110.9747
    ),
    metro!(
        "honolulu",
        "Honolulu",
        "Urban Honolulu, HI",
        "HI",
        1_016_508,
        21.3069,
        -157.8583
    ),
    metro!(
        "tulsa",
        "Tulsa",
        "Tulsa, OK",
        "OK",
        1_015_331,
        36.1540,
        -95.9928
    ),
    metro!(
        "fresno",
        "Fresno",
        "Fresno, CA",
        "CA",
        1_008_654,
        36.7378,
        -119.7871
    ),
    metro!(
        "worcester",
        "Worcester",
        "Worcester, MA-CT",
        "MA",
        978_529,
        42.2626,
        -71.8023
    ),
    metro!(
        "omaha",
        "Omaha",
        "Omaha-Council Bluffs, NE-IA",
        "NE",
        967_604,
        41.2565,
        -95.9345
    ),
    metro!(
        "bridgeport",
        "Bridgeport",
        "Bridgeport-Stamford-Norwalk, CT",
        "CT",
        957_419,
        41.1865,
        -73.1952
    ),
    metro!(
        "greenville",
        "Greenville",
        "Greenville-Anderson, SC",
        "SC",
        928_195,
        34.8526,
        -82.3940
    ),
];

/// Name parts for independents, per category: (first words, second words).
pub fn name_parts(category: Category) -> (&'static [&'static str], &'static [&'static str]) {
    const ADJ: &[&str] = &[
        "Blue Door",
        "Copper",
        "Golden",
        "Old Town",
        "Maple",
        "Red Oak",
        "Silver",
        "North Star",
        "Riverside",
        "Main Street",
        "Corner",
        "Cedar",
        "Harbor",
        "Union",
        "Lantern",
        "Juniper",
        "Iron",
        "Parkside",
        "Sunrise",
        "Hilltop",
    ];
    let second: &'static [&'static str] = match category {
        Category::Coffee => &["Coffee", "Coffee House", "Roasters", "Espresso Bar", "Cafe"],
        Category::Qsr => &["Burgers", "Tacos", "Chicken Shack", "Drive-In", "Grill"],
        Category::FastCasual => &["Kitchen", "Bowls", "Eatery", "Market Cafe", "Noodle Bar"],
        Category::Grocery => &["Market", "Grocers", "Food Co-op", "Fresh Market", "Foods"],
        Category::BigBox => &[
            "Outlet",
            "Discount Center",
            "Superstore",
            "Merchandise",
            "Value Store",
        ],
        Category::WholesaleClub => &["Warehouse", "Bulk Club", "Wholesale"],
        Category::Pharmacy => &["Pharmacy", "Drug Store", "Apothecary", "Rx"],
        Category::Convenience => &["Quick Stop", "Mart", "Fuel Stop", "Express", "Corner Store"],
        Category::Fitness => &["Fitness", "Athletic Club", "Gym", "Strength Studio", "Yoga"],
        Category::Cinema => &["Cinema", "Theatre", "Picture House", "Drive-In Theater"],
        Category::Mall => &["Galleria", "Town Center", "Mall", "Plaza", "Crossing"],
        Category::Golf => &[
            "Golf Club",
            "Country Club",
            "Golf Course",
            "Links",
            "Driving Range",
        ],
        Category::Bar => &["Tavern", "Pub", "Taproom", "Saloon", "Brewing Co."],
        Category::HomeImprovement => &["Hardware", "Lumber", "Home Center", "Supply"],
    };
    (ADJ, second)
}

/// Street names for synthetic addresses.
pub const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple Ave",
    "Washington Blvd",
    "Park Rd",
    "Elm St",
    "Lake Dr",
    "Hillcrest Rd",
    "Commerce Pkwy",
    "Market St",
    "Broadway",
    "Highland Ave",
    "Center St",
    "Pine St",
    "Ridge Rd",
    "Jefferson Ave",
    "Lincoln Way",
    "Mill Rd",
    "Church St",
    "Sunset Blvd",
    "Airport Rd",
    "University Ave",
    "River Rd",
    "State St",
    "Franklin St",
];

/// Lifestyle segments (our own names) and how they lean.
pub const SEGMENTS: &[&str] = &[
    "Urban Trailblazers",
    "Rising Metropolitans",
    "Suburban Nesters",
    "Value-Seeking Families",
    "Affluent Achievers",
    "Heartland Traditionalists",
    "Campus & Creatives",
    "Golden Horizons",
];

/// Category affinity for cross-visits (row: origin, column: destination), 0..1.
pub fn affinity(origin: Category, dest: Category) -> f32 {
    use Category::*;
    if origin == dest {
        return 0.35;
    }
    match (origin, dest) {
        (Coffee, Grocery | Fitness | Pharmacy | BigBox) => 0.8,
        (Fitness, Coffee | FastCasual | Grocery) => 0.9,
        (Qsr, Convenience | BigBox | Cinema) => 0.6,
        (Grocery, Pharmacy | Coffee | Convenience | WholesaleClub) => 0.75,
        (BigBox, Grocery | Qsr | HomeImprovement | Pharmacy) => 0.8,
        (WholesaleClub, Grocery | HomeImprovement | Qsr) => 0.7,
        (Cinema, FastCasual | Qsr | Bar | Mall) => 0.9,
        (Mall, Cinema | FastCasual | Coffee | Qsr) => 0.85,
        (Bar, Qsr | Cinema | Convenience) => 0.6,
        (Golf, Bar | FastCasual | Coffee) => 0.7,
        (HomeImprovement, BigBox | Qsr | Coffee) => 0.7,
        (Pharmacy, Grocery | Coffee | Convenience) => 0.6,
        (Convenience, Qsr | Coffee) => 0.5,
        (FastCasual, Coffee | Fitness | Cinema) => 0.6,
        _ => 0.25,
    }
}
