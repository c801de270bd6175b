//! Running the outside programs the tests and benchmarks read from (docker, node,
//! primesieve, cargo): one place that says which command failed, and why.

use std::process::Command;

/// What `command` printed on stdout, once it has exited successfully.
///
/// # Panics
/// When it cannot start (naming `needs`: what provides it), exits with a failure
/// (with its stderr), or prints other than UTF-8.
pub fn stdout_of(command: &mut Command, needs: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?} ({needs}): {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8(output.stdout)
        .unwrap_or_else(|e| panic!("{command:?} printed other than UTF-8: {e}"))
}
