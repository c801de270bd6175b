//! The primary engine in a process of its own, so that it can be stopped.
//!
//! libprimecount has no way to cancel a computation: a thread running it keeps going
//! past any budget, using the function's small CPU share that the fallback and the next
//! requests need. A large n is therefore computed by a child process of the function's
//! own binary (`bootstrap --nth-prime N`), which is killed when its budget runs out.
//! Small n stay on a thread, where starting a process would cost more than the answer.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::primary;

/// The argument that makes the binary answer one nth prime and exit.
pub const ARG: &str = "--nth-prime";

/// From this n on, the primary runs in its own process. Measured on a whole core, the
/// API's release binary answers `--nth-prime 1` in 2.4 ms (the price of a process) and
/// `--nth-prime 100000000000` in 42.6 ms, where the primary in process takes 40.0 ms
/// (`docs/benchmarks.md`, nth prime); at a 256 MB function's share p(10^11) takes 258 ms.
/// Below it, no computation comes near its budget, in a process or not.
pub const OWN_PROCESS_FROM: u64 = 100_000_000_000;

/// The binary to run the primary in: this one, once [`answer_if_asked`] has shown that it
/// answers [`ARG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryProcess {
    program: PathBuf,
}

/// If this process was started as `PROGRAM --nth-prime N`, prints p(N) (or why not) and
/// exits; otherwise answers the running binary as the one to start for the primary.
/// Called first thing in `main` by every binary that computes, before its runtime is
/// built, so that the child starts no more than the computation.
///
/// # Panics
/// When the running binary's path cannot be read.
pub fn answer_if_asked() -> PrimaryProcess {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(ARG) {
        let answer = args
            .get(2)
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("usage: {} {ARG} N", args[0]))
            .and_then(primary::nth_prime);
        match answer {
            Ok(prime) => {
                println!("{prime}");
                std::process::exit(0)
            }
            Err(why) => {
                eprintln!("{why}");
                std::process::exit(1)
            }
        }
    }
    PrimaryProcess {
        program: std::env::current_exe().expect("the running binary's path"),
    }
}

impl PrimaryProcess {
    /// `program`, whose `main` calls [`answer_if_asked`] first (as the API's binaries do):
    /// for a test, or a process other than the running one.
    pub fn of(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// p(n) from a child process, killed if it has not answered within `budget`.
    pub async fn nth_prime(&self, n: u64, budget: Duration) -> Result<u64, String> {
        let child = tokio::process::Command::new(&self.program)
            .arg(ARG)
            .arg(n.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped at the budget's end (below), the child is killed, and tokio reaps it.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start its process: {e}"))?;
        let output = tokio::time::timeout(budget, child.wait_with_output())
            .await
            .map_err(|_| format!("exceeded its time budget of {budget:?} (its process killed)"))?
            .map_err(|e| format!("its process failed: {e}"))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "its process ended {}: {}",
                output.status,
                said.trim()
            ));
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("its process answered no number: {e}"))
    }
}
