//! `twin-runtime`: Lambda's runtime API, with its freeze and timeout, between one function
//! instance and `cargo lambda watch`'s (see `primescaler_twin::runtime`). The functions'
//! cargo runner under `make dev` (`infra/twin-run.sh`) starts one beside each instance;
//! the twin (`PROFILE=aws`) gives it a timeout and a freezer:
//!
//! ```text
//! twin-runtime --upstream [http://]HOST:PORT[/PREFIX] --instance PID [--timeout-s SECONDS] [--freezer DIR]
//! ```
//!
//! It prints the address the instance is to use as `AWS_LAMBDA_RUNTIME_API` on its first
//! line, and ends when the process `PID` has ended, or on SIGTERM, thawing the instance
//! first (and however else it ends). Once the instance has been sent a signal that will
//! end it (pending, and neither ignored nor caught), it is thawed and never frozen again,
//! so that it can end.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use primescaler_twin::{Freezer, RuntimeRelay};

/// What the command line says.
struct Options {
    upstream: String,
    timeout: Option<Duration>,
    instance: u32,
    freezer: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut timeout, mut instance, mut freezer) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--upstream" => upstream = Some(value),
            "--timeout-s" => {
                let seconds: f64 = value.parse().map_err(|e| format!("--timeout-s: {e}"))?;
                let duration = Duration::try_from_secs_f64(seconds)
                    .map_err(|e| format!("--timeout-s {seconds}: {e}"))?;
                timeout = Some(duration);
            }
            "--instance" => instance = Some(value.parse().map_err(|e| format!("--instance: {e}"))?),
            "--freezer" => freezer = Some(PathBuf::from(value)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Options {
        upstream: upstream.ok_or("--upstream is needed")?,
        timeout,
        instance: instance.ok_or("--instance is needed")?,
        freezer,
    })
}

/// The signals whose default action does not end a process (`man 7 signal`): SIGCHLD,
/// SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG and SIGWINCH.
const HARMLESS: [u32; 8] = [17, 18, 19, 20, 21, 22, 23, 28];

/// The signals in a `/proc/<pid>/status` mask (bit n - 1 for signal n) that end the
/// process when it runs: pending ones it neither ignores nor catches, whose default
/// action ends it.
fn ending(pending: u64, ignored: u64, caught: u64) -> u64 {
    let harmless = HARMLESS.iter().fold(0, |mask, n| mask | 1 << (n - 1));
    pending & !ignored & !caught & !harmless
}

/// What the relay sees of its instance.
enum Seen {
    /// Running, or frozen with nothing to end it.
    Running,
    /// Sent a signal that ends it, which it cannot take while frozen (SIGKILL's bit is
    /// never ignored or caught).
    Stopping,
    /// Ended (a zombie has ended too).
    Gone,
}

fn seen(pid: u32) -> Seen {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Seen::Gone;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
    };
    if field("State:").is_some_and(|state| state.starts_with('Z')) {
        return Seen::Gone;
    }
    let mask = |name: &str| field(name).and_then(|m| u64::from_str_radix(m, 16).ok());
    let pending = mask("SigPnd:").unwrap_or(0) | mask("ShdPnd:").unwrap_or(0);
    let ignored = mask("SigIgn:").unwrap_or(0);
    let caught = mask("SigCgt:").unwrap_or(0);
    if ending(pending, ignored, caught) != 0 {
        Seen::Stopping
    } else {
        Seen::Running
    }
}

/// Runs until the instance has ended, thawing it for good once something stops it (the
/// relay runs in a session of its own, so the signal meant for the instance's process
/// group does not end the relay first and leave the instance frozen for ever). SIGTERM
/// to the relay itself thaws the instance and ends the relay.
async fn watch(relay: &RuntimeRelay, instance: u32) {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = terminate.recv() => return relay.release(),
            _ = tick.tick() => match seen(instance) {
                Seen::Running => {}
                Seen::Stopping => relay.release(),
                Seen::Gone => return relay.abandon().await,
            },
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    let freezer = match &options.freezer {
        Some(dir) => Some(Freezer::at(dir).map_err(|e| format!("{}: {e}", dir.display()))?),
        None => None,
    };
    // The upstream's scheme and path prefix, if any, stay in the address the instance is
    // given (`cargo lambda watch` gives `http://127.0.0.1:9000/.rt`, Lambda a bare
    // `host:port`).
    let (scheme, rest) = match options.upstream.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), options.upstream.as_str()),
    };
    let (authority, prefix) = match rest.split_once('/') {
        Some((authority, prefix)) => (authority, format!("/{prefix}")),
        None => (rest, String::new()),
    };
    let relay = RuntimeRelay::new(authority, freezer, options.timeout);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{scheme}{address}{prefix}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot say where it listens: {e}"))?;
    // However the relay ends (a panic included), its instance is left thawed.
    let _thaw = ReleaseOnDrop(Arc::clone(&relay));
    let served = axum::serve(listener, relay.router()).into_future();
    tokio::select! {
        served = served => served.map_err(|e| e.to_string()),
        () = watch(&relay, options.instance) => Ok(()),
    }
}

/// Releases the instance when the relay ends.
struct ReleaseOnDrop(Arc<RuntimeRelay>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGINT: u64 = 1 << 1;
    const SIGKILL: u64 = 1 << 8;
    const SIGTERM: u64 = 1 << 14;
    const SIGCHLD: u64 = 1 << 16;

    #[test]
    fn a_pending_signal_ends_the_instance_unless_harmless_ignored_or_caught() {
        assert_eq!(ending(SIGKILL, 0, 0), SIGKILL);
        assert_eq!(ending(SIGTERM | SIGCHLD, 0, 0), SIGTERM);
        assert_eq!(ending(SIGCHLD, 0, 0), 0);
        assert_eq!(ending(SIGTERM, SIGTERM, 0), 0);
        assert_eq!(ending(SIGINT, 0, SIGINT), 0);
    }
}
