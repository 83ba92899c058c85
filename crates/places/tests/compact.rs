//! The data set stays compact (issue 16: ≤ 100 bytes per place at `large`): a place is 28
//! bytes, its ZIP a 16-bit index into a table that fits one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pi_places::dataset::Poi;
use pi_places::{Dataset, Scale};

#[test]
fn a_place_is_28_bytes_and_every_zip_index_fits_in_16_bits() {
    assert_eq!(std::mem::size_of::<Poi>(), 28);
    let data = Dataset::build(Scale::Small, 42);
    assert!(
        data.zips.len() <= usize::from(u16::MAX),
        "{} ZIPs",
        data.zips.len()
    );
    for p in &data.pois {
        let zip = &data.zips[usize::from(p.zip)];
        // The place was scattered around its own ZIP's centre, not a stand-in's.
        let (dlat, dlon) = (f64::from(p.lat - zip.lat), f64::from(p.lon - zip.lon));
        assert!(
            dlat.abs() < 1.0 && dlon.abs() < 2.0,
            "{p:?} vs {:?}",
            (zip.lat, zip.lon)
        );
    }
}
