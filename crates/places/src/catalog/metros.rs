//! The 60 largest US metro areas with their 2020 census populations and centres.

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
