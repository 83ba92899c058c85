//! The byte stream between a file and its parser: counts progress, opens gzip by its magic
//! bytes, and refuses decompression bombs and oversized records before they cost memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use crate::IngestError;

/// What a reader accepts before refusing a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest CSV record (one line of the file, all its cells), bytes.
    pub max_record_bytes: u64,
    /// Largest ratio of decompressed to compressed bytes of a `.gz` file...
    pub max_inflation: u64,
    /// ...checked once this many bytes have been decompressed (small files inflate more).
    pub inflation_floor: u64,
}

impl Default for Limits {
    /// 16 MiB records (a Patterns row with thousands of home block groups is ~100 KiB); gzip
    /// up to 100× past the first 64 MiB (Patterns CSV compresses 5–12×).
    fn default() -> Self {
        Self {
            max_record_bytes: 16 << 20,
            max_inflation: 100,
            inflation_floor: 64 << 20,
        }
    }
}

/// Why the guard stopped a stream; carried inside an `io::Error` through the CSV parser.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub String);

/// Turns an I/O error from a guarded stream back into the refusal it carries, if it does.
pub(crate) fn classify(e: io::Error) -> IngestError {
    if e.get_ref().is_some_and(|inner| inner.is::<Refusal>()) {
        let message = e
            .into_inner()
            .map(|inner| inner.to_string())
            .unwrap_or_default();
        IngestError::Refused(message)
    } else {
        IngestError::Io(e)
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A file opened for a text parser.
pub(crate) struct Opened {
    pub reader: Box<dyn Read + Send>,
    /// Bytes of the file consumed so far (compressed bytes for `.gz`).
    pub consumed: Arc<AtomicU64>,
    pub size: u64,
}

/// Opens `path`, decompressing gzip (told by its magic bytes, not its name) and guarding the
/// text.
pub(crate) fn open_text(path: &Path, limits: Limits) -> Result<Opened, IngestError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    Ok(guard_text(Box::new(file), size, limits)?)
}

/// Guards any byte source (an upload, a test's bytes).
pub(crate) fn guard_text(
    source: Box<dyn Read + Send>,
    size: u64,
    limits: Limits,
) -> io::Result<Opened> {
    let consumed = Arc::new(AtomicU64::new(0));
    let mut buffered = BufReader::with_capacity(
        256 << 10,
        Counting {
            inner: source,
            count: Arc::clone(&consumed),
        },
    );
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let decoded: Box<dyn Read + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            256 << 10,
            MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    let reader = Box::new(Guard {
        inner: decoded,
        compressed: gzip.then(|| Arc::clone(&consumed)),
        decoded: 0,
        state: Csv::FieldStart,
        record: 0,
        limits,
    });
    Ok(Opened {
        reader,
        consumed,
        size,
    })
}

/// Where the guard is in the CSV text, by the parser's rules (RFC 4180, the `csv` crate's
/// defaults): a quote opens a quoted field only at its start, `""` inside one is a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csv {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field ends, or `""` continues it.
    QuoteInQuoted,
}

/// Tracks the current CSV record's size (a newline inside a quoted field does not end a
/// record) and the decompression ratio.
struct Guard<R> {
    inner: R,
    compressed: Option<Arc<AtomicU64>>,
    decoded: u64,
    state: Csv,
    record: u64,
    limits: Limits,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            let (next, ends) = match (self.state, b) {
                (Csv::Quoted, b'"') => (Csv::QuoteInQuoted, false),
                (Csv::Quoted, _) => (Csv::Quoted, false),
                (Csv::QuoteInQuoted, b'"') | (Csv::FieldStart, b'"') => (Csv::Quoted, false),
                (_, b',') => (Csv::FieldStart, false),
                (_, b'\n') => (Csv::FieldStart, true),
                _ => (Csv::Unquoted, false),
            };
            self.state = next;
            self.record = if ends { 0 } else { self.record + 1 };
            if self.record > self.limits.max_record_bytes {
                return Err(refuse(format!(
                    "a record is longer than {} MiB (at byte {} of the text)",
                    self.limits.max_record_bytes >> 20,
                    self.decoded + i as u64
                )));
            }
        }
        self.decoded += n as u64;
        if let Some(compressed) = &self.compressed {
            let compressed = compressed.load(Ordering::Relaxed).max(1);
            if self.decoded > self.limits.inflation_floor
                && self.decoded > compressed.saturating_mul(self.limits.max_inflation)
            {
                return Err(refuse(format!(
                    "the gzip stream inflates more than {}× ({} bytes from {}): not a data file",
                    self.limits.max_inflation, self.decoded, compressed
                )));
            }
        }
        Ok(n)
    }
}

fn refuse(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Refusal(message))
}

/// The progress counter of a source, read from another thread.
pub(crate) fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>, limits: Limits) -> Result<Vec<u8>, IngestError> {
        let size = bytes.len() as u64;
        let mut opened = guard_text(Box::new(io::Cursor::new(bytes)), size, limits)?;
        let mut out = Vec::new();
        opened.reader.read_to_end(&mut out).map_err(classify)?;
        Ok(out)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_told_by_its_magic_bytes() {
        let text = b"a,b\n1,2\n".to_vec();
        assert_eq!(read_all(gzip(&text), Limits::default()).unwrap(), text);
        assert_eq!(read_all(text.clone(), Limits::default()).unwrap(), text);
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let limits = Limits {
            inflation_floor: 1 << 20,
            ..Limits::default()
        };
        // 64 MiB of zeros compress ~1000×.
        let bomb = gzip(&vec![b'0'; 64 << 20]);
        let err = read_all(bomb, limits).unwrap_err();
        assert!(
            matches!(&err, IngestError::Refused(m) if m.contains("inflates")),
            "{err}"
        );
    }

    #[test]
    fn an_oversized_record_is_refused_but_quoted_newlines_do_not_count_as_ends() {
        let limits = Limits {
            max_record_bytes: 1000,
            ..Limits::default()
        };
        let mut long = b"a,\"".to_vec();
        long.extend(std::iter::repeat_n(b'x', 2000));
        long.extend(b"\"\n");
        let err = read_all(long, limits).unwrap_err();
        assert!(matches!(&err, IngestError::Refused(m) if m.contains("longer than")));
        // Many short lines are fine; a quoted cell with newlines still counts as one record.
        let many = "a,b\n".repeat(10_000).into_bytes();
        assert!(read_all(many, limits).is_ok());
        let mut quoted = b"a,\"".to_vec();
        quoted.extend("x\n".repeat(600).into_bytes());
        quoted.extend(b"\"\n");
        assert!(read_all(quoted, limits).is_err());
        // A quote inside an unquoted field is a character, as the parser reads it: it neither
        // hides a long record nor makes the rest of the file one record.
        let mut stray = b"1,a\"b,\"".to_vec();
        stray.extend("x\n".repeat(600).into_bytes());
        stray.extend(b"\"\n");
        assert!(
            read_all(stray, limits).is_err(),
            "the quoted field after the stray quote is one record"
        );
        let pizza = "1,12\" Pizza,3\n".repeat(500).into_bytes();
        assert!(read_all(pizza, limits).is_ok(), "each line is a record");
        let escaped = "1,\"say \"\"hi\"\"\",3\n".repeat(500).into_bytes();
        assert!(read_all(escaped, limits).is_ok());
    }
}
