//! `data/zips.tsv` is the `zipcodes` crate's active standard US ZIPs, unchanged: rebuilt here
//! from the crate and compared byte for byte. `PI_UPDATE_ZIPS=1 cargo test -p pi-places --test
//! zips` rewrites it after a `zipcodes` upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn from_the_crate() -> String {
    let mut out = String::from("zip\tlat\tlon\tcity\tstate\n");
    for z in zipcodes::database() {
        if !z.active || z.zip_code_type != "STANDARD" || z.country != "US" {
            continue;
        }
        let (Ok(lat), Ok(lon), Ok(_)) = (
            z.lat.parse::<f32>(),
            z.long.parse::<f32>(),
            z.zip_code.parse::<u32>(),
        ) else {
            continue;
        };
        if !(17.0..72.0).contains(&lat) || !(-180.0..-60.0).contains(&lon) {
            continue;
        }
        for field in [&z.city, &z.state] {
            assert!(!field.contains(['\t', '\n']), "{field:?}");
        }
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            z.zip_code, z.lat, z.long, z.city, z.state
        ));
    }
    out
}

#[test]
fn the_compiled_zip_table_is_the_zipcodes_crate() {
    let expected = from_the_crate();
    if std::env::var_os("PI_UPDATE_ZIPS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/zips.tsv");
        std::fs::write(path, &expected).unwrap();
    }
    assert!(
        pi_places::dataset::ZIPS_TSV == expected,
        "data/zips.tsv differs from the zipcodes crate: rerun with PI_UPDATE_ZIPS=1"
    );
    assert!(expected.lines().count() > 29_000);
}
