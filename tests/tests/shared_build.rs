//! `make test` builds each dependency once. `cargo test` resolves the workspace's features
//! with the dev-dependencies; `make dev`'s builds (`cargo run`, `cargo lambda watch`, which
//! the smoke step runs) resolve them without. Where the two differ for a crate, that
//! crate and everything above it is compiled twice: a test-only feature of the AWS SDK
//! once cost the smoke step about 150 s of rebuilding (docs/benchmarks.md, first run).
//! `tests/Cargo.toml` keeps them alike by naming the test-only features among its own
//! dependencies; this test says which crate differs when a new dev-dependency breaks that.
//! A deployed function is built from its own package (template.yaml's `CodeUri`, `make
//! build-arm64`'s `-p`), where none of those features may reach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use primescaler_tests::command::stdout_of;

/// Each package of the dependency graph that cargo builds from `dir` (the workspace root:
/// its default members; a member's directory: that package), by `name version`, with the
/// features it is built with (the host and the target builds together), as `cargo tree`
/// resolves them over the given edge kinds.
fn features_from(dir: &str, edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let tree = stdout_of(
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["tree", "--offline", "--locked", "--color", "never"])
            .args(["--prefix", "none", "-e", edges])
            .args(["-f", "{p}|{f}"]),
        "the cargo running the tests",
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tree.lines() {
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

/// Whether `feature` of `package` (any version) is on in `packages`.
fn is_on(packages: &BTreeMap<String, BTreeSet<String>>, package: &str, feature: &str) -> bool {
    let prefix = format!("{package} v");
    packages
        .iter()
        .any(|(id, features)| id.starts_with(&prefix) && features.contains(feature))
}

/// [`features_from`] the workspace root.
fn features(edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    features_from(".", edges)
}

#[test]
fn cargo_test_and_make_dev_build_every_shared_dependency_with_the_same_features() {
    // GIVEN the features `make dev`'s builds resolve, and those `cargo test` resolves
    let dev = features("normal,build");
    let test = features("normal,build,dev");
    assert!(dev.len() > 100, "cargo tree listed {} packages", dev.len());

    // WHEN each package that both builds have is compared
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

/// What the test crate turns on for the tests, and no deployed function may carry: the
/// simulation's parts and paused clock, the SDK's mocks. (aws-config itself turns on
/// `test-util` of a few smithy crates, in every build; those are not listed.)
const TEST_ONLY: [(&str, &str); 4] = [
    ("primescaler-cluster", "testing"),
    ("tokio", "test-util"),
    ("aws-sdk-dynamodb", "test-util"),
    ("aws-smithy-http-client", "test-util"),
];

#[test]
fn a_deployed_function_is_built_without_the_test_only_features() {
    // GIVEN the directories template.yaml builds the functions from (`CodeUri`)
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
            .expect("template.yaml");
    let code_dirs: BTreeSet<&str> = template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("CodeUri: "))
        .collect();
    assert!(!code_dirs.is_empty(), "template.yaml has no CodeUri");
    // and the workspace builds them all with the test crate's features on
    let workspace = features("normal,build");
    for (package, feature) in TEST_ONLY {
        assert!(
            is_on(&workspace, package, feature),
            "{package}/{feature} is no longer on in the workspace: update TEST_ONLY"
        );
    }

    for dir in code_dirs {
        // WHEN a function is built from its directory, as `sam build` does
        let manifest = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(dir)
                .join("Cargo.toml"),
        )
        .expect("a Cargo.toml in each CodeUri");
        assert!(
            manifest.contains("[package]"),
            "CodeUri {dir} is not a package: it would build the workspace"
        );
        let deployed = features_from(dir, "normal,build");

        // THEN none of the test-only features is on
        let found: Vec<String> = TEST_ONLY
            .iter()
            .filter(|(package, feature)| is_on(&deployed, package, feature))
            .map(|(package, feature)| format!("{package}/{feature}"))
            .collect();
        assert!(
            found.is_empty(),
            "the function built from {dir} has {found:?}"
        );
    }
}
