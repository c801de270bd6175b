//! The API and upkeep functions' policies in template.yaml against the AWS operations
//! their binaries can call (see `primescaler-policy-check`): an operation the policy
//! lacks would fail in AWS, and an action never called is privilege to take away.

use std::path::Path;

use primescaler_policy_check::assert_policy_matches;

#[test]
fn the_api_function_calls_exactly_what_its_policy_allows() {
    // GIVEN the api binary as built for this test run
    // WHEN its operations are compared with the ApiFunction policy
    // THEN they are the same set
    assert_policy_matches("ApiFunction", Path::new(env!("CARGO_BIN_EXE_api")));
}

#[test]
fn the_upkeep_function_calls_exactly_what_its_policy_allows() {
    assert_policy_matches("UpkeepFunction", Path::new(env!("CARGO_BIN_EXE_upkeep")));
}
