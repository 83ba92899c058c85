//! Rounding of figures in outputs, and percent changes.

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Change from `before` to `now`, %, one decimal (none without a base).
pub(crate) fn pct_change(now: f64, before: f64) -> Option<f64> {
    (before > 0.0).then(|| round1((now / before - 1.0) * 100.0))
}
