//! The UI function's policy in template.yaml against the AWS operations its binary can
//! call (see `primescaler-policy-check`).

use std::path::Path;

use primescaler_policy_check::assert_policy_matches;

#[test]
fn the_ui_function_calls_exactly_what_its_policy_allows() {
    // GIVEN the ui binary as built for this test run
    // WHEN its operations are compared with the UiFunction policy
    // THEN they are the same set: a read-only Scan and GetItem
    assert_policy_matches("UiFunction", Path::new(env!("CARGO_BIN_EXE_ui")));
}
