//! Fault injection: make the primary engine fail on purpose, so that the fallback can be
//! seen in the UI and tested end to end.

use std::str::FromStr;

/// How an injected fault shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The primary returns an error.
    Error,
    /// The primary panics.
    Panic,
    /// The primary answers a wrong number (the composite p + 1).
    Wrong,
    /// The primary takes longer than its time budget.
    Slow,
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "error" => Ok(Self::Error),
            "panic" => Ok(Self::Panic),
            "wrong" => Ok(Self::Wrong),
            "slow" => Ok(Self::Slow),
            other => Err(format!(
                "PRIMARY_FAULT_KIND must be error, panic, wrong or slow, not {other:?}"
            )),
        }
    }
}

/// Whether, and how often, the primary is made to fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultInjection {
    /// The probability that one call fails, in `0.0..=1.0`.
    pub rate: f64,
    /// How it fails.
    pub kind: FaultKind,
}

impl FaultInjection {
    /// No faults.
    pub const NONE: Self = Self {
        rate: 0.0,
        kind: FaultKind::Error,
    };

    /// Reads `PRIMARY_FAULT_RATE` (0..1, default 0) and `PRIMARY_FAULT_KIND`
    /// (error, panic, wrong or slow; default error) through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let rate = match lookup("PRIMARY_FAULT_RATE") {
            None => 0.0,
            Some(raw) => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("PRIMARY_FAULT_RATE must be in 0..1, not {raw:?}"))?,
        };
        let kind = match lookup("PRIMARY_FAULT_KIND") {
            None => FaultKind::Error,
            Some(raw) => raw.trim().parse()?,
        };
        Ok(Self { rate, kind })
    }

    /// Draws whether this call fails.
    pub fn strikes(&self) -> Option<FaultKind> {
        (self.rate > 0.0 && fastrand::f64() < self.rate).then_some(self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(rate: Option<&str>, kind: Option<&str>) -> Result<FaultInjection, String> {
        FaultInjection::from_lookup(|name| match name {
            "PRIMARY_FAULT_RATE" => rate.map(String::from),
            "PRIMARY_FAULT_KIND" => kind.map(String::from),
            _ => None,
        })
    }

    #[test]
    fn settings_are_read_and_checked() {
        assert_eq!(read(None, None), Ok(FaultInjection::NONE));
        assert_eq!(
            read(Some("1"), Some("panic")),
            Ok(FaultInjection {
                rate: 1.0,
                kind: FaultKind::Panic
            })
        );
        assert!(read(Some("1.5"), None).is_err());
        assert!(read(Some("often"), None).is_err());
        assert!(read(Some("0.5"), Some("explode")).is_err());
    }

    #[test]
    fn the_rate_is_honoured() {
        assert_eq!(FaultInjection::NONE.strikes(), None);
        let always = FaultInjection {
            rate: 1.0,
            kind: FaultKind::Wrong,
        };
        assert!((0..100).all(|_| always.strikes() == Some(FaultKind::Wrong)));
        let half = FaultInjection {
            rate: 0.5,
            kind: FaultKind::Error,
        };
        let struck = (0..10_000).filter(|_| half.strikes().is_some()).count();
        assert!((4_500..5_500).contains(&struck), "{struck} of 10,000");
    }
}
