//! Timeouts as people write them (`500ms`, `30s`, `1h 30m`): the one parser behind `--timeout`, a policy's `[defaults] timeout` and a plan step's `timeout`.

use std::time::Duration;

/// A timeout in the engine's unit, whole milliseconds. Every timeout that gets here was
/// checked to fit when it was read ([`parse_timeout`]); one that did not would saturate at
/// `u64::MAX` ms, never wrap around to a short timeout.
pub fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
}

/// Why a timeout was refused; each caller words it for where it was written.
#[derive(Debug, thiserror::Error)]
pub enum TimeoutError {
    /// Not a duration at all.
    #[error("{0}")]
    Syntax(#[from] humantime::DurationError),
    /// Under a millisecond: the engine's timeout of 0 ms would kill the command at once.
    #[error("expected a positive duration (at least 1ms)")]
    TooShort,
    /// More milliseconds than the engine's `u64` holds (about 584 million years).
    #[error("too long: at most {} ms (about 584 million years)", u64::MAX)]
    TooLong,
}

/// Parses a timeout of at least 1 ms that fits the engine's whole milliseconds in a `u64`.
pub fn parse_timeout(text: &str) -> Result<Duration, TimeoutError> {
    let d = humantime::parse_duration(text)?;
    if d < Duration::from_millis(1) {
        return Err(TimeoutError::TooShort);
    }
    if u64::try_from(d.as_millis()).is_err() {
        return Err(TimeoutError::TooLong);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_from_a_millisecond_to_the_engines_limit() {
        assert_eq!(
            parse_timeout("1h 30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(parse_timeout("1ms").ok(), Some(Duration::from_millis(1)));
        assert!(matches!(parse_timeout("0s"), Err(TimeoutError::TooShort)));
        assert!(matches!(
            parse_timeout("999us"),
            Err(TimeoutError::TooShort)
        ));
        assert!(matches!(
            parse_timeout("600000000years"),
            Err(TimeoutError::TooLong)
        ));
        assert!(matches!(
            parse_timeout("soon"),
            Err(TimeoutError::Syntax(_))
        ));
    }
}
