//! The benchmark's runs in headless Chromium: time to interactive and the page's bulk
//! fill (`tests/ui/tti.mjs`, `tests/ui/bulk.mjs`).

use std::process::Command;

use primescaler_tests::workspace_root;

use crate::{BROWSER_LOADS, BULK_CONCURRENCY, BULK_K, median};

/// Time to interactive in Chromium: the medians of all, of the browser's share, and of
/// the reference (the same HTML without its script).
pub(crate) fn time_to_interactive(base: &str) -> (Vec<f64>, f64, f64, u64) {
    let output = Command::new("node")
        .current_dir(workspace_root())
        .args(["tests/ui/tti.mjs", base, BROWSER_LOADS])
        .output()
        .expect("node runs tests/ui/tti.mjs");
    assert!(
        output.status.success(),
        "tti.mjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let loads: serde_json::Value = serde_json::from_slice(&output.stdout).expect("tti.mjs JSON");
    let series = |name: &str| -> Vec<f64> {
        loads[name]
            .as_array()
            .expect("a series")
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect()
    };
    let mut tti = series("hydrated");
    assert!(!tti.is_empty(), "no load of the page hydrated");
    median(&mut tti);
    let browser = median(&mut series("afterFirstByte"));
    let reference = median(&mut series("staticLoad"));
    (
        tti,
        browser,
        reference,
        loads["failed"].as_u64().unwrap_or(0),
    )
}

/// The page's bulk fill of 1..=BULK_K in Chromium (`tests/ui/bulk.mjs`), requests/s.
pub(crate) fn page_bulk_fill(base: &str) -> f64 {
    let output = Command::new("node")
        .current_dir(workspace_root())
        .args([
            "tests/ui/bulk.mjs",
            base,
            &BULK_K.to_string(),
            &BULK_CONCURRENCY.to_string(),
        ])
        .output()
        .expect("node runs tests/ui/bulk.mjs");
    assert!(
        output.status.success(),
        "bulk.mjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&output.stdout).expect("bulk.mjs JSON");
    assert_eq!(
        run["failed"], 0,
        "the page's bulk run failed requests: {run}"
    );
    run["perSecond"].as_f64().expect("a rate")
}
