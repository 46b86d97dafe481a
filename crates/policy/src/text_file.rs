//! Reading a policy or plan file: at most 4 MiB, UTF-8 or an error at the first byte that is not.

use std::path::Path;

use crate::error::Location;

/// Largest file read (4 MiB): a policy or plan is a few kilobytes, and a path such as
/// `/dev/zero` must not be read until memory runs out.
const MAX_BYTES: u64 = 4 << 20;

/// Why a file's text could not be had.
#[derive(Debug)]
pub(crate) enum TextError {
    /// It could not be read, or is larger than the limit.
    Read(std::io::Error),
    /// It is not UTF-8: the message, at the first byte that is not.
    NotUtf8 {
        /// Where, in the text as far as it is readable.
        at: Box<Location>,
        /// `invalid UTF-8: a KIND file must be UTF-8 text`.
        message: String,
    },
}

/// The text of the file at `path`; `kind` (`policy`, `plan`) names it in errors.
pub(crate) fn read_text(path: &Path, kind: &str) -> Result<String, TextError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(TextError::Read)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(TextError::Read(std::io::Error::other(format!(
            "the file is larger than the {} MiB a {kind} file may have",
            MAX_BYTES >> 20
        ))));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes());
        TextError::NotUtf8 {
            at: Box::new(Location::from_span(path, &lossy, at..at + 1)),
            message: format!("invalid UTF-8: a {kind} file must be UTF-8 text"),
        }
    })
}
