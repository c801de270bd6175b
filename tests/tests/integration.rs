//! The integration tests, one binary for the files beside this one, a module each.
//!
//! One binary links the AWS SDK and the functions once, where a binary per file linked
//! them thirteen times, and its tests share the two cores while they wait on their
//! emulators and timers (`cargo test` runs one test binary at a time). The fault
//! matrix's slice, for one, mostly waits out its write grace. One file keeps a binary of
//! its own, as `tests/Cargo.toml` says: the deterministic simulation, which `make sim`
//! runs alone with its own seed count and which keeps both cores busy.
//! `cargo test --test integration <module>::` runs one file's tests.

mod cluster;
mod deadline;
mod fault_matrix;
mod freeze;
mod handlers;
mod handoff;
mod http_server;
mod lost_answers;
mod membership;
mod placement;
mod policies;
mod primary_process;
mod repair;
mod reset;
mod shared_build;
mod store;
mod throttling;
mod twin;
mod ui;

/// Every `.rs` file beside this one is a module here or a test target of its own:
/// `tests/Cargo.toml` turns cargo's discovery of test files off (`autotests = false`),
/// so a file named in neither would be neither built nor run.
#[test]
fn every_test_file_is_built_and_run() {
    // GIVEN this binary's modules (none of them behind a `cfg`), and the paths of the
    // [[test]] targets tests/Cargo.toml names
    let here = include_str!("integration.rs");
    assert!(
        !here.lines().any(|l| l.trim_start().starts_with("#[cfg")),
        "a module here behind a cfg may not be built"
    );
    let targets = test_target_paths(include_str!("../Cargo.toml"));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");

    // WHEN each entry of tests/tests is looked for in either
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("list tests/tests") {
        let entry = entry.expect("an entry of tests/tests");
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() {
            // A directory test (`<name>/main.rs`), which discovery would have built.
            missing.push(format!("{name}/"));
            continue;
        }
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        let as_module = here.lines().any(|l| l == format!("mod {module};"));
        let as_target = targets.contains(&format!("tests/{name}"));
        if !as_module && !as_target {
            missing.push(name);
        }
    }

    // THEN none is missing
    assert!(
        missing.is_empty(),
        "add these to tests/tests/integration.rs (`mod <name>;`) or to tests/Cargo.toml \
         ([[test]]): {missing:?}"
    );
}

/// The `path`s of the `[[test]]` sections of a manifest.
fn test_target_paths(manifest: &str) -> Vec<String> {
    let mut in_test = false;
    let mut paths = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_test = line == "[[test]]";
        } else if in_test && let Some(value) = line.strip_prefix("path = ") {
            paths.push(value.trim_matches('"').to_string());
        }
    }
    paths
}
