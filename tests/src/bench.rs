//! Helpers of the benchmark binaries: bounded sequential and concurrent loops, and
//! latency percentiles. Every loop stops at [`PHASE_LIMIT`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// No phase of the benchmark runs longer than this.
pub const PHASE_LIMIT: Duration = Duration::from_secs(300);

/// No single HTTP call of a benchmark waits longer than this.
pub const CALL_LIMIT: Duration = Duration::from_secs(30);

/// The benchmarks' HTTP client: every call gives up after [`CALL_LIMIT`] (the local
/// Lambda emulation very rarely never answers a request).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CALL_LIMIT)
        .build()
        .expect("an HTTP client")
}

/// Sampled latencies of one path.
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    /// The `p` quantile (0..=1) of the samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }

    /// A Markdown table row: the path, the calls, p50 and p99 in ms, and calls per second.
    pub fn row(&self, what: &str, elapsed: Duration) -> String {
        format!(
            "| {what} | {} | {:.3} | {:.3} | {:.0} |",
            self.0.len(),
            ms(self.percentile(0.5)),
            ms(self.percentile(0.99)),
            self.0.len() as f64 / elapsed.as_secs_f64(),
        )
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Times `count` sequential calls of `call(i)`, stopping at PHASE_LIMIT.
pub async fn sequential<F, Fut>(count: usize, mut call: F) -> (Latencies, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        if started.elapsed() > PHASE_LIMIT {
            break;
        }
        let t = Instant::now();
        call(i).await;
        samples.push(t.elapsed());
    }
    (Latencies(samples), started.elapsed())
}

/// Runs `call(i)` for i in 0..count with `concurrency` workers; answers calls per second.
pub async fn throughput<F, Fut>(count: usize, concurrency: usize, call: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, next) = (Arc::clone(&call), Arc::clone(&next));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || started.elapsed() > PHASE_LIMIT {
                        return;
                    }
                    call(i).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a worker finished");
    }
    next.load(Ordering::Relaxed).min(count) as f64 / started.elapsed().as_secs_f64()
}

/// The resident memory of process `pid` and its children (dynalite runs under `node`,
/// moto under Python), in bytes, from `/proc`; 0 where it cannot be read.
pub fn resident_bytes(pid: u32) -> u64 {
    let own = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0)
        * 1024;
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .map(resident_bytes)
        .sum::<u64>();
    own + children
}

/// The pids of the stack's emulators, from `emulator-*.pid` in `DEV_STATE` (as
/// `infra/bench-stack.sh` sets it; default `target/dev`).
pub fn emulator_pids() -> Vec<u32> {
    let dir = std::env::var_os("DEV_STATE")
        .map_or_else(|| crate::workspace_root().join("target/dev"), Into::into);
    let mut pids: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("emulator-") && name.ends_with(".pid")
        })
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// A record of n as a benchmark stores it: the prime is a placeholder, since no path a
/// benchmark times reads it.
pub fn record(n: u64) -> primescaler_core::PrimeRecord {
    primescaler_core::PrimeRecord::new(
        n,
        primescaler_core::Computation {
            prime: 2,
            calculator: "bench".into(),
            compute_micros: 0,
            fallback_reason: None,
        },
        0,
    )
}
