//! National brands (real names, synthetic figures) and invented regional chains.

use super::Category;

/// A chain.
#[derive(Debug)]
pub struct ChainDef {
    /// Slug (`starbucks`), used in `chain:<slug>` ids.
    pub slug: &'static str,
    /// Brand name.
    pub name: &'static str,
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
