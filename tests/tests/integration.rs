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
mod handlers;
mod handoff;
mod http_server;
mod lost_answers;
mod placement;
mod policies;
mod shared_build;
mod store;
mod throttling;
mod ui;

/// Every `.rs` file beside this one is a module here or a test target of its own:
/// `tests/Cargo.toml` turns cargo's discovery of test files off (`autotests = false`),
/// so a file named in neither would be neither built nor run.
#[test]
fn every_test_file_is_built_and_run() {
    // GIVEN this binary's modules, and the test targets tests/Cargo.toml names
    let here = include_str!("integration.rs");
    let manifest = include_str!("../Cargo.toml");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");

    // WHEN each file in tests/tests is looked for in either
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("list tests/tests") {
        let name = entry.expect("a file of tests/tests").file_name();
        let name = name.to_string_lossy();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        let as_module = here.lines().any(|l| l == format!("mod {module};"));
        let as_target = manifest.contains(&format!("path = \"tests/{name}\""));
        if !as_module && !as_target {
            missing.push(name.to_string());
        }
    }

    // THEN none is missing
    assert!(
        missing.is_empty(),
        "add these to tests/tests/integration.rs (`mod <name>;`) or to tests/Cargo.toml \
         ([[test]]): {missing:?}"
    );
}
