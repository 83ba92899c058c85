//! Where a place's visitors live: the model behind trade areas and audiences.

use crate::dataset::Dataset;
use crate::rng::{hash, unit};

/// Home-ZIP weights of a place's visitors: (zip index, distance km, share), shares summing to 1,
/// largest share first.
pub(crate) fn home_zips(data: &Dataset, index: u32) -> Vec<(u32, f64, f64)> {
    let p = &data.pois[index as usize];
    let params = p.category.params();
    let (lat, lon) = (f64::from(p.lat), f64::from(p.lon));
    let mut zips = data.zips_within(lat, lon, f64::from(params.reach_km));
    if zips.is_empty() {
        // Remote place: its own ZIP.
        zips.push((u32::from(p.zip), 0.0));
    }
    let decay = f64::from(params.decay_km);
    let weights: Vec<(u32, f64, f64)> = zips
        .iter()
        .map(|(z, d)| {
            let jitter = 0.75 + 0.5 * unit(hash(&[u64::from(p.seed), u64::from(*z)]));
            (
                *z,
                *d,
                f64::from(data.zips[*z as usize].weight) * (-d.max(0.3) / decay).exp() * jitter,
            )
        })
        .collect();
    let total: f64 = weights.iter().map(|w| w.2).sum();
    let mut out: Vec<(u32, f64, f64)> = weights
        .into_iter()
        .map(|(z, d, w)| (z, d, w / total))
        .collect();
    out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    out
}
