//! Words the synthetic data set names things with: independents' names, street names and
//! lifestyle segments.

use super::Category;

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
