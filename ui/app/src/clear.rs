//! The answer of `DELETE /cache`, and what the page says of it: a reset that left
//! records on some node is partial, and the page must not show an empty grid for it.

use serde::{Deserialize, Serialize};

/// The answer of `DELETE /cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearAnswer {
    /// Records removed over every cleared node.
    pub removed: u64,
    /// Nodes that could not be reached (their records remain).
    #[serde(default)]
    pub unreachable: Vec<String>,
    /// Nodes that throttled the clear part of the way (some of their records remain).
    #[serde(default)]
    pub busy: Vec<String>,
}

impl ClearAnswer {
    /// Whether records may remain: a node was not reached, or cleared only in part.
    pub fn is_partial(&self) -> bool {
        !self.unreachable.is_empty() || !self.busy.is_empty()
    }

    /// What the page says of the reset.
    pub fn summary(&self) -> String {
        let mut text = format!("Reset: {} records removed.", self.removed);
        if !self.unreachable.is_empty() {
            text += &format!(
                " Not reached, so not cleared: {}.",
                self.unreachable.join(", ")
            );
        }
        if !self.busy.is_empty() {
            text += &format!(
                " Cleared in part (throttled; reset again): {}.",
                self.busy.join(", ")
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
        assert!(
            throttled
                .summary()
                .contains("in part (throttled; reset again): b")
        );
        let unreached = answer(r#"{"removed":0,"unreachable":["c"]}"#);
        assert!(unreached.is_partial());
        assert!(unreached.summary().contains("not cleared: c"));
    }
}
