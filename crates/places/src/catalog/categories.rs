//! Place categories and how visits to each behave: weekly and yearly shape, opening hours, dwell,
//! visit frequency and trade-area reach, plus which categories visitors combine in one trip.

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

    /// The category of a data provider's label: Pi's own names, Overture categories
    /// (`coffee_shop`, `fast_food_restaurant`), SafeGraph/NAICS titles (`Limited-Service
    /// Restaurants`, `Grocery Stores`) and Foursquare labels (`Coffee Shop`, `Gym`). `None` for
    /// what Pi does not analyse.
    pub fn from_label(label: &str) -> Option<Self> {
        if let Some(c) = Self::parse(label) {
            return Some(c);
        }
        let l = label.to_lowercase().replace(['_', '-'], " ");
        let words: Vec<&str> = l.split(|c: char| !c.is_alphanumeric()).collect();
        // A phrase anywhere, or a short word as a whole word ("bar" is not "barber").
        let has = |terms: &[&str]| {
            terms.iter().any(|t| {
                if t.len() <= 4 && !t.contains(' ') {
                    words.iter().any(|w| w == t || *w == format!("{t}s"))
                } else {
                    l.contains(t)
                }
            })
        };
        // Most specific first: "coffee" before "restaurant", "wholesale club" before "store".
        Some(
            if has(&[
                "coffee",
                "cafe",
                "café",
                "tea house",
                "snack and nonalcoholic beverage",
            ]) {
                Self::Coffee
            } else if has(&["fast casual"]) {
                Self::FastCasual
            } else if has(&[
                "fast food",
                "limited service",
                "quick service",
                "burger",
                "fried chicken",
                "drive in",
            ]) {
                Self::Qsr
            } else if has(&["warehouse club", "wholesale club", "supercenter"]) {
                Self::WholesaleClub
            } else if has(&["grocery", "supermarket"]) {
                Self::Grocery
            } else if has(&["pharmac", "drug store", "drugstore"]) {
                Self::Pharmacy
            } else if has(&["convenience", "gas station", "gasoline", "fuel"]) {
                Self::Convenience
            } else if has(&["gym", "fitness"]) {
                Self::Fitness
            } else if has(&["cinema", "movie theater", "motion picture"]) {
                Self::Cinema
            } else if has(&["shopping mall", "shopping center", "shopping centre"]) {
                Self::Mall
            } else if has(&["golf"]) {
                Self::Golf
            } else if has(&["home improvement", "hardware", "building material"]) {
                Self::HomeImprovement
            } else if has(&[
                "department store",
                "general merchandise",
                "discount store",
                "big box",
            ]) {
                Self::BigBox
            } else if has(&["bar", "pub", "brewery", "drinking places", "nightlife"]) {
                Self::Bar
            } else {
                return None;
            },
        )
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

#[cfg(test)]
mod tests {
    use super::Category;

    #[test]
    fn provider_labels_map_to_categories() {
        for (label, expected) in [
            ("coffee_shop", Some(Category::Coffee)),
            ("fast_food_restaurant", Some(Category::Qsr)),
            ("Limited-Service Restaurants", Some(Category::Qsr)),
            (
                "Snack and Nonalcoholic Beverage Bars",
                Some(Category::Coffee),
            ),
            ("Grocery Stores", Some(Category::Grocery)),
            (
                "All Other General Merchandise Stores",
                Some(Category::BigBox),
            ),
            (
                "Warehouse Clubs and Supercenters",
                Some(Category::WholesaleClub),
            ),
            ("Pharmacies and Drug Stores", Some(Category::Pharmacy)),
            ("Gym", Some(Category::Fitness)),
            ("Pizzeria", None),
            ("dentist", None),
            ("qsr", Some(Category::Qsr)),
            ("barber_shop", None),
            ("Drinking Places (Alcoholic Beverages)", Some(Category::Bar)),
            ("sports_bar", Some(Category::Bar)),
        ] {
            assert_eq!(Category::from_label(label), expected, "{label}");
        }
    }
}
