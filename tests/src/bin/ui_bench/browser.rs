//! The benchmark's runs in headless Chromium: time to interactive, the page's bulk fill,
//! and the teaching views on the full grid (`tests/ui/tti.mjs`, `tests/ui/bulk.mjs`,
//! `tests/ui/views.mjs`).

use std::process::Command;

use primescaler_tests::command::stdout_of;
use primescaler_tests::workspace_root;

use crate::{BROWSER_LOADS, BULK_CONCURRENCY, BULK_K, VIEW_RUNS, median};

/// The JSON that `node tests/ui/{script} {args…}` prints, run from the workspace root.
fn node_script(script: &str, args: &[&str]) -> serde_json::Value {
    let printed = stdout_of(
        Command::new("node")
            .current_dir(workspace_root())
            .arg(format!("tests/ui/{script}"))
            .args(args),
        "Node.js runs tests/ui",
    );
    serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{script} JSON: {e}"))
}

/// What fresh loads of the page in Chromium took, in ms from navigation.
pub(crate) struct Loads {
    /// Until hydrated (interactive), sorted.
    pub tti: Vec<f64>,
    /// The median from the page's first byte to hydration: the browser's share.
    pub browser_share: f64,
    /// Until the grid showed every stored cell asked for, sorted (empty if none was).
    pub shown: Vec<f64>,
    /// The median load of the same HTML without its script: the reference.
    pub reference: f64,
    /// Loads that never hydrated.
    pub failed: u64,
}

/// Time to interactive in Chromium (`tests/ui/tti.mjs`), and, with `cells` > 0, the time
/// until that many cells show their record.
pub(crate) fn time_to_interactive(base: &str, cells: usize) -> Loads {
    let loads = node_script("tti.mjs", &[base, BROWSER_LOADS, &cells.to_string()]);
    let series = |name: &str| -> Vec<f64> {
        let mut values: Vec<f64> = loads[name]
            .as_array()
            .expect("a series")
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let tti = series("hydrated");
    assert!(!tti.is_empty(), "no load of the page hydrated");
    Loads {
        tti,
        browser_share: median(&mut series("afterFirstByte")),
        shown: series("shown"),
        reference: median(&mut series("staticLoad")),
        failed: loads["failed"].as_u64().unwrap_or(0),
    }
}

/// The page's bulk fill of 1..=BULK_K in Chromium (`tests/ui/bulk.mjs`), requests/s.
pub(crate) fn page_bulk_fill(base: &str) -> f64 {
    let run = node_script(
        "bulk.mjs",
        &[base, &BULK_K.to_string(), &BULK_CONCURRENCY.to_string()],
    );
    assert_eq!(
        run["failed"], 0,
        "the page's bulk run failed requests: {run}"
    );
    run["perSecond"].as_f64().expect("a rate")
}

/// The teaching views on the full grid (`tests/ui/views.mjs`): each series in ms, from
/// the click to the next paint, and the long animation frames seen meanwhile.
pub(crate) struct Views {
    /// Opening the ring view.
    pub ring_open: Vec<f64>,
    /// Opening "what if" the first time in a page.
    pub what_if_first: Vec<f64>,
    /// Opening it again in the same page.
    pub what_if_again: Vec<f64>,
    /// Drawing the what-if overlay alone (both opens).
    pub what_if_draw: Vec<f64>,
    /// Switching the grid to "served from".
    pub served_open: Vec<f64>,
    /// Each long animation frame (> 50 ms of work): its duration and blocking time.
    pub long_frames: Vec<(f64, f64)>,
}

/// Runs `tests/ui/views.mjs` on `base`, [`VIEW_RUNS`] fresh pages.
pub(crate) fn teaching_views(base: &str) -> Views {
    let runs = node_script("views.mjs", &[base, VIEW_RUNS]);
    let series = |name: &str| -> Vec<f64> {
        let mut values: Vec<f64> = runs[name]
            .as_array()
            .expect("a series")
            .iter()
            // A measure the page did not record (null) is left out.
            .filter_map(serde_json::Value::as_f64)
            .collect();
        median(&mut values);
        values
    };
    Views {
        ring_open: series("ringOpen"),
        what_if_first: series("whatIfFirst"),
        what_if_again: series("whatIfAgain"),
        what_if_draw: series("whatIfDraw"),
        served_open: series("servedOpen"),
        long_frames: runs["longFrames"]
            .as_array()
            .expect("the long frames")
            .iter()
            .map(|f| {
                (
                    f["duration"].as_f64().unwrap_or(0.0),
                    f["blocking"].as_f64().unwrap_or(0.0),
                )
            })
            .collect(),
    }
}
