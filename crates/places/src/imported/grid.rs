//! The imported set's spatial index: places bucketed by a 0.1° grid cell, the cells in row-major
//! order, so the cells of one grid row inside a box are one contiguous run. 4 bytes a place plus
//! 8 a non-empty cell (an R-tree of `f32` points took ~40 bytes a place: each leaf sits in its
//! parent's node array at the size of the node enum).

/// Cells per degree.
const PER_DEGREE: f64 = 10.0;
/// Cells in a grid row (360° of longitude).
const COLUMNS: u32 = 3600;
/// Grid rows (180° of latitude).
const ROWS: u32 = 1800;

/// Place indexes by grid cell.
#[derive(Debug, Default)]
pub struct Grid {
    /// Every non-empty cell with where its places start in `order`, by cell.
    cells: Vec<(u32, u32)>,
    /// Place indexes ordered by cell, then index.
    order: Vec<u32>,
}

fn row(lat: f64) -> u32 {
    (((lat + 90.0) * PER_DEGREE).floor().max(0.0) as u32).min(ROWS - 1)
}

fn column(lon: f64) -> u32 {
    (((lon + 180.0) * PER_DEGREE).floor().max(0.0) as u32).min(COLUMNS - 1)
}

fn cell(lat: f64, lon: f64) -> u32 {
    row(lat) * COLUMNS + column(lon)
}

impl Grid {
    /// The index of points given as `(lat, lon)`, in place order.
    pub fn build(points: impl Iterator<Item = (f64, f64)>) -> Self {
        let mut keyed: Vec<(u32, u32)> = points
            .enumerate()
            .map(|(i, (lat, lon))| (cell(lat, lon), i as u32))
            .collect();
        keyed.sort_unstable();
        let mut cells: Vec<(u32, u32)> = Vec::new();
        for (at, (c, _)) in keyed.iter().enumerate() {
            if cells.last().is_none_or(|(last, _)| last != c) {
                cells.push((*c, at as u32));
            }
        }
        cells.shrink_to_fit();
        let order = keyed.into_iter().map(|(_, i)| i).collect();
        Self { cells, order }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.cells.capacity() * 8 + self.order.capacity() * 4
    }

    /// Every place whose cell overlaps the box `[min_lat, max_lat] × [min_lon, max_lon]`: a
    /// superset of the places inside it (callers test their coordinates).
    pub fn candidates(&self, min_lat: f64, max_lat: f64, min_lon: f64, max_lon: f64) -> Vec<u32> {
        let mut out = Vec::new();
        if min_lat > max_lat || min_lon > max_lon || self.order.is_empty() {
            return out;
        }
        let (first_column, last_column) = (column(min_lon), column(max_lon));
        for r in row(min_lat)..=row(max_lat) {
            let (from, to) = (r * COLUMNS + first_column, r * COLUMNS + last_column);
            let mut at = self.cells.partition_point(|(c, _)| *c < from);
            while let Some(&(c, start)) = self.cells.get(at) {
                if c > to {
                    break;
                }
                let end = self
                    .cells
                    .get(at + 1)
                    .map_or(self.order.len(), |(_, next)| *next as usize);
                out.extend_from_slice(&self.order[start as usize..end]);
                at += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed-seed LCG: the same points on every run.
    fn points(n: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| (24.0 + 26.0 * next(), -125.0 + 58.0 * next()))
            .collect()
    }

    #[test]
    fn candidates_hold_every_place_in_the_box_and_only_nearby_ones() {
        let pts = points(20_000, 7);
        let grid = Grid::build(pts.iter().copied());
        let boxes = [
            (30.0, 30.5, -98.0, -97.0),
            (24.0, 50.0, -125.0, -67.0),
            (40.71, 40.72, -74.01, -74.0),
            (45.0, 44.0, -90.0, -89.0),
            (10.0, 11.0, 10.0, 11.0),
        ];
        for (min_lat, max_lat, min_lon, max_lon) in boxes {
            let mut got = grid.candidates(min_lat, max_lat, min_lon, max_lon);
            got.sort_unstable();
            let inside: Vec<u32> = (0..pts.len() as u32)
                .filter(|i| {
                    let (lat, lon) = pts[*i as usize];
                    lat >= min_lat && lat <= max_lat && lon >= min_lon && lon <= max_lon
                })
                .collect();
            for i in &inside {
                assert!(
                    got.binary_search(i).is_ok(),
                    "{i} missing from {min_lat},{min_lon}"
                );
            }
            // Nothing from further than one cell outside the box.
            for i in &got {
                let (lat, lon) = pts[*i as usize];
                assert!(lat >= min_lat - 0.1 && lat <= max_lat + 0.1, "{lat}");
                assert!(lon >= min_lon - 0.1 && lon <= max_lon + 0.1, "{lon}");
            }
            let mut unique = got.clone();
            unique.dedup();
            assert_eq!(unique.len(), got.len(), "each place once");
        }
    }

    #[test]
    fn the_edges_of_the_world_are_cells_too() {
        let grid = Grid::build([(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)].into_iter());
        assert_eq!(grid.candidates(89.0, 90.0, 179.0, 180.0), vec![0]);
        assert_eq!(grid.candidates(-90.0, -89.0, -180.0, -179.0), vec![1]);
        assert_eq!(grid.candidates(-1.0, 1.0, -1.0, 1.0), vec![2]);
        assert!(Grid::default().candidates(0.0, 1.0, 0.0, 1.0).is_empty());
    }
}
