//! Geometry on the sphere and in the plane: distances, bounding boxes, polygons.

/// Mean Earth radius, km.
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;
/// Kilometres per degree of latitude.
pub const KM_PER_DEG_LAT: f64 = 111.32;

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// A (lon, lat) box in degrees that contains the whole spherical cap of points within
/// `radius_km` of (lat, lon).
///
/// The latitude span is the cap's angular radius. The longitude span is the widest the cap gets,
/// which is poleward of the centre: `asin(sin(r) / cos(lat))` (J. Matuschek, "Finding Points
/// Within a Distance of a Latitude/Longitude Using Bounding Coordinates"). A cap that contains a
/// pole or crosses the antimeridian gets every longitude.
pub fn bbox_around(lat: f64, lon: f64, radius_km: f64) -> ([f64; 2], [f64; 2]) {
    let angular = radius_km.max(0.0) / EARTH_RADIUS_KM;
    let dlat = angular.to_degrees();
    let (min_lat, max_lat) = (lat - dlat, lat + dlat);
    let sin_ratio = angular.sin() / lat.to_radians().cos();
    let (mut min_lon, mut max_lon) = if max_lat >= 90.0
        || min_lat <= -90.0
        || angular >= std::f64::consts::FRAC_PI_2
        || sin_ratio >= 1.0
    {
        (-180.0, 180.0)
    } else {
        let dlon = sin_ratio.asin().to_degrees();
        (lon - dlon, lon + dlon)
    };
    if min_lon < -180.0 || max_lon > 180.0 {
        (min_lon, max_lon) = (-180.0, 180.0);
    }
    // Padded so f32 rounding in the index never drops a boundary point.
    let pad = 1e-4;
    (
        [min_lon - pad, min_lat.max(-90.0) - pad],
        [max_lon + pad, max_lat.min(90.0) + pad],
    )
}

/// Whether (lon, lat) lies inside the polygon ring (even-odd rule; the ring need not be closed).
pub fn point_in_polygon(lon: f64, lat: f64, ring: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let n = ring.len();
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let [xi, yi] = ring[i];
        let [xj, yj] = ring[j];
        if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Convex hull of (lon, lat) points, counter-clockwise, closed (first point repeated).
pub fn convex_hull(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = points.to_vec();
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        let mut out = pts.clone();
        if let Some(first) = pts.first() {
            out.push(*first);
        }
        return out;
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(pts.len() * 2);
    for &p in &pts {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    let lower = hull.len() + 1;
    for &p in pts.iter().rev().skip(1) {
        while hull.len() >= lower && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    hull
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 erf approximation, |error| < 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    let erf = if z >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Austin to Dallas ≈ 293 km.
        let d = haversine_km(30.2672, -97.7431, 32.7767, -96.7970);
        assert!((d - 293.0).abs() < 5.0, "{d}");
        assert_eq!(haversine_km(10.0, 10.0, 10.0, 10.0), 0.0);
    }

    /// Points on the cap's edge, in every direction, at latitudes up to the poles, lie in the box.
    #[test]
    fn bbox_contains_the_whole_cap() {
        for lat in [
            -89.9, -75.0, -40.0, 0.0, 25.0, 30.614, 47.5, 64.0, 80.0, 89.5,
        ] {
            for radius_km in [0.2, 5.0, 27.309_581_952_348_662, 400.0, 3_000.0] {
                let lon = -97.0;
                let (min, max) = bbox_around(lat, lon, radius_km);
                let angular = radius_km / EARTH_RADIUS_KM;
                for step in 0..3_600 {
                    let bearing = f64::from(step).to_radians() / 10.0;
                    // Destination point along `bearing` at exactly the radius.
                    let (p1, l1) = (lat.to_radians(), lon.to_radians());
                    let p2 = (p1.sin() * angular.cos() + p1.cos() * angular.sin() * bearing.cos())
                        .asin();
                    let l2 = l1
                        + (bearing.sin() * angular.sin() * p1.cos())
                            .atan2(angular.cos() - p1.sin() * p2.sin());
                    let (plat, plon) = (p2.to_degrees(), l2.to_degrees());
                    let plon = (plon + 540.0).rem_euclid(360.0) - 180.0;
                    assert!(
                        plat >= min[1] && plat <= max[1] && plon >= min[0] && plon <= max[0],
                        "lat {lat} r {radius_km}: edge point ({plat}, {plon}) outside {min:?}..{max:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn polygon_and_hull() {
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!(point_in_polygon(0.5, 0.5, &square));
        assert!(!point_in_polygon(1.5, 0.5, &square));
        let hull = convex_hull(&[[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0], [0.0, 1.0]]);
        assert_eq!(hull.len(), 5);
        assert_eq!(hull.first(), hull.last());
    }

    #[test]
    fn cdf() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-3);
    }
}
