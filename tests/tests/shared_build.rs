//! `make test` builds each dependency once. `cargo test` resolves the workspace's features
//! with the dev-dependencies; `make dev`'s builds (`cargo run`, `cargo lambda watch`, which
//! the smoke step runs) resolve them without. Where the two differ for a crate, that
//! crate and everything above it is compiled twice: a test-only feature of the AWS SDK
//! once cost the smoke step about 150 s of rebuilding (docs/benchmarks.md, first run).
//! `tests/Cargo.toml` keeps them alike by naming the test-only features among its own
//! dependencies; this test says which crate differs when a new dev-dependency breaks that.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Each package of the workspace's default members' dependency graph, by `name version`,
/// with the features it is built with (the host and the target builds together), as
/// `cargo tree` resolves them over the given edge kinds.
fn features(edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "-e",
            edges,
        ])
        .args(["-f", "{p}|{f}"])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        // "name v1.2.3 (/path) (proc-macro)" → "name v1.2.3"
        let id: Vec<&str> = package.split_whitespace().take(2).collect();
        let features = features.trim().trim_end_matches("(*)").trim();
        packages.entry(id.join(" ")).or_default().extend(
            features
                .split(',')
                .filter(|f| !f.is_empty())
                .map(String::from),
        );
    }
    packages
}

#[test]
fn cargo_test_and_make_dev_build_every_shared_dependency_with_the_same_features() {
    // GIVEN the features `make dev`'s builds resolve, and those `cargo test` resolves
    let dev = features("normal,build");
    let test = features("normal,build,dev");
    assert!(dev.len() > 100, "cargo tree listed {} packages", dev.len());

    // WHEN each package both build is compared
    let differing: Vec<String> = dev
        .iter()
        .filter_map(|(package, features)| {
            let under_test = test.get(package)?;
            (under_test != features).then(|| {
                let extra: Vec<&String> = under_test.difference(features).collect();
                format!("{package}: cargo test adds {extra:?}")
            })
        })
        .collect();

    // THEN none differs
    assert!(
        differing.is_empty(),
        "these crates (and all above them) would be compiled twice by make test; name \
         the features in tests/Cargo.toml's [dependencies]:\n{}",
        differing.join("\n")
    );
}
