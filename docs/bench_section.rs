//! Shared by the benchmarks (included with `#[path]`): writes one benchmark's section
//! of `docs/benchmarks.md`, keeping the others.

use std::path::Path;
use std::process::Command;

/// Today's date in UTC, as `YYYY-MM-DD` (empty if `date` cannot run).
pub fn utc_date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the section between `<!-- bench:{name}:start -->` and
/// `<!-- bench:{name}:end -->` in `docs/benchmarks.md` (under `workspace`) with
/// `section`, or appends it.
pub fn write_section(workspace: &Path, name: &str, section: &str) {
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let path = workspace.join("docs/benchmarks.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let block = format!("{start}\n{section}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(s), Some(e)) if s < e => format!("{}{block}{}", &old[..s], &old[e + end.len()..]),
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    std::fs::write(&path, new).expect("write docs/benchmarks.md");
}
