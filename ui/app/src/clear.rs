//! The answer of `DELETE /cache`, and what the page says of it: a reset that did not
//! reach some node is partial (that node shows its records until the upkeep carries the
//! reset to it), and the page must not show an empty grid for it.

use serde::{Deserialize, Serialize};

/// The answer of `DELETE /cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearAnswer {
    /// Records the reset nodes held.
    pub removed: u64,
    /// Nodes that could not be reached.
    #[serde(default)]
    pub unreachable: Vec<String>,
    /// Nodes that throttled the reset.
    #[serde(default)]
    pub busy: Vec<String>,
}

impl ClearAnswer {
    /// Whether records may remain for now: a node was not reset.
    pub fn is_partial(&self) -> bool {
        !self.unreachable.is_empty() || !self.busy.is_empty()
    }

    /// What the page says of the reset.
    pub fn summary(&self) -> String {
        let mut text = format!("Reset: {} records removed.", self.removed);
        let missed: Vec<&str> = self
            .unreachable
            .iter()
            .chain(&self.busy)
            .map(String::as_str)
            .collect();
        if !missed.is_empty() {
            text += &format!(
                " Not reset yet (unreachable or busy; the upkeep resets it within a minute of \
                 its return, or reset again): {}.",
                missed.join(", ")
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_that_left_records_on_a_node_says_so() {
        let answer = |body: &str| serde_json::from_str::<ClearAnswer>(body).unwrap();
        let whole = answer(r#"{"removed":3,"nodes":["a","b"],"unreachable":[],"busy":[]}"#);
        assert!(!whole.is_partial());
        assert_eq!(whole.summary(), "Reset: 3 records removed.");
        let throttled = answer(r#"{"removed":3,"nodes":["a"],"unreachable":[],"busy":["b"]}"#);
        assert!(throttled.is_partial());
        assert!(throttled.summary().contains("reset again): b."));
        let unreached = answer(r#"{"removed":0,"unreachable":["c"]}"#);
        assert!(unreached.is_partial());
        assert!(unreached.summary().contains("Not reset yet"));
        assert!(unreached.summary().contains("reset again): c."));
    }
}
