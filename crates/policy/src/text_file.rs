//! Reading a policy or plan file (at most 4 MiB, UTF-8) and pointing its errors into its text.

use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{LocatedError, Location};

/// Largest file read (4 MiB): a policy or plan is a few kilobytes, and a path such as
/// `/dev/zero` must not be read until memory runs out.
const MAX_BYTES: u64 = 4 << 20;

/// The text of the file at `path`; `kind` (`policy`, `plan`) names it in errors. A file
/// that cannot be read, or is larger than the limit, gives `read(error)`; one that is not
/// UTF-8, a syntax error at the first byte that is not.
pub(crate) fn read_text<E: From<LocatedError>>(
    path: &Path,
    kind: &str,
    read: impl FnOnce(std::io::Error) -> E,
) -> Result<String, E> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    if let Err(e) =
        std::fs::File::open(path).and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
    {
        return Err(read(e));
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Err(read(std::io::Error::other(format!(
            "the file is larger than the {} MiB a {kind} file may have",
            MAX_BYTES >> 20
        ))));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes());
        E::from(LocatedError::Syntax {
            at: Box::new(Location::from_span(path, &lossy, at..at + 1)),
            message: format!("invalid UTF-8: a {kind} file must be UTF-8 text"),
        })
    })
}

/// The file being read, for errors that point into it; `E` is the error its reader
/// returns (`PolicyError`, `PlanError`), whose own checks are methods of `Cx<'_, E>`.
pub(crate) struct Cx<'a, E> {
    /// The file.
    pub(crate) path: &'a Path,
    /// Its text.
    pub(crate) text: &'a str,
    error: PhantomData<fn() -> E>,
}

impl<'a, E: From<LocatedError>> Cx<'a, E> {
    /// The context of `text`, read from `path`.
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        Cx {
            path,
            text,
            error: PhantomData,
        }
    }

    /// The location of byte range `span` of the text.
    pub(crate) fn at(&self, span: Range<usize>) -> Box<Location> {
        Box::new(Location::from_span(self.path, self.text, span))
    }

    /// The text parsed as TOML into `T`; an error points at the parser's span.
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T, E> {
        toml::from_str(self.text).map_err(|e| {
            E::from(LocatedError::Syntax {
                at: self.at(e.span().unwrap_or(0..0)),
                message: e.message().trim_end().to_string(),
            })
        })
    }

    /// The value at `span` is not an acceptable `what`: `message` says why.
    pub(crate) fn invalid(
        &self,
        span: Range<usize>,
        what: &'static str,
        message: impl Into<String>,
    ) -> E {
        E::from(LocatedError::Invalid {
            at: self.at(span),
            what,
            message: message.into(),
        })
    }
}
