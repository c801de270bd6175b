//! Reading settings from an environment-like lookup.

use std::time::Duration;

/// Reads the duration in whole milliseconds (≥ 1) named `name` through `lookup`;
/// `default` when it is unset.
pub fn read_millis(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
) -> Result<Duration, String> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms >= 1)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                format!("{name} must be a whole number of milliseconds ≥ 1, not {raw:?}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defaults_values_and_refusals() {
        let default = Duration::from_secs(1);
        let read = |value: Option<&str>| read_millis(&|_| value.map(String::from), "X_MS", default);
        assert_eq!(read(None), Ok(default));
        assert_eq!(read(Some(" 250 ")), Ok(Duration::from_millis(250)));
        for bad in ["0", "-5", "1.5", "soon"] {
            assert!(read(Some(bad)).unwrap_err().contains("X_MS"), "{bad}");
        }
    }
}
