//! Readers of the customer's data files, in their published schemas, into checked records.
//!
//! - [`patterns`]: Advan / SafeGraph Weekly or Monthly Patterns, `.csv` or `.csv.gz`, keyed by
//!   `placekey` or `store_id`: one [`PatternsRow`] (a place and its visits in one period) per line.
//! - [`places`]: Overture Maps Places GeoParquet, Foursquare OS Places Parquet and a plain CSV:
//!   one [`PlaceRecord`] per row.
//!
//! Every reader streams: memory stays bounded whatever the file's size. A bad row becomes a
//! [`Rejection`] naming its line (or row) and field, and reading goes on; a file that cannot be
//! read safely (a missing or repeated column, a decompression bomb, an oversized record) stops
//! with an [`IngestError`]. `docs/DATA.md` lists every column read and what it feeds.

mod guard;
pub mod patterns;
pub mod places;
mod value;
pub mod write;

pub use guard::Limits;
pub use patterns::PatternsReader;
pub use pi_domain::data::{PatternsRow, PlaceRecord, Rejection, VisitRecord};
pub use places::{PlacesFormat, PlacesReader, detect as detect_places_format};

/// What a reader yields for each row.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<T> {
    Row(T),
    Rejected(Rejection),
}

/// Why a file cannot be read (the import stops).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not what its format says (not Parquet, not gzip, no header...).
    #[error("{0}")]
    Format(String),
    /// The file is refused to protect the importer (a bomb, an oversized record, a repeated
    /// column).
    #[error("refused: {0}")]
    Refused(String),
}

/// Where a reader is in its file, for progress bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Rows read so far (accepted and rejected).
    pub rows: u64,
    /// Bytes of the file consumed so far, when known.
    pub bytes: u64,
    /// Total rows, when the format says (Parquet).
    pub total_rows: Option<u64>,
    /// Size of the file, bytes.
    pub total_bytes: u64,
}
