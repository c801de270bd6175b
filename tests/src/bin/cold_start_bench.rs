//! The cold-start benchmark: how long a function binary takes from process start to its
//! first request for an event (`GET /2018-06-01/runtime/invocation/next`), against a
//! stand-in runtime API on loopback; the API function beside a bare `lambda_http` hello
//! world built the same way. Also the size of each stripped arm64 release binary.
//!
//! Run: `make bench-cold-start` (`infra/bench-cold-start.sh` builds both ways first).

#[path = "../../../docs/bench_section.rs"]
mod bench_section;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use primescaler_tests::workspace_root;

const RUNS: usize = 30;

/// Starts `binary` against a stand-in runtime API; answers the time until it asks for
/// its first event.
fn time_to_first_poll(binary: &str) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let runtime_api = listener.local_addr().expect("an address").to_string();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "cold-start")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_LC_SYS_NO_JITTER_ENTROPY", "1")
        .env("NODES", "us-east-1,eu-west-1,ap-southeast-2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {binary}: {e}"));
    let (stream, _) = listener.accept().expect("the function connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .expect("a request line");
    let elapsed = started.elapsed();
    assert!(line.contains("/runtime/invocation/next"), "{line}");
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn size_mb(path: &str) -> Option<f64> {
    std::fs::metadata(workspace_root().join(path))
        .ok()
        .map(|m| m.len() as f64 / 1e6)
}

fn main() {
    let root = workspace_root();
    let mut rows = Vec::new();
    for (name, binary, arm64) in [
        (
            "api (PrimeScaler)",
            "target/release/api",
            "target/lambda/api/bootstrap",
        ),
        (
            "hello (bare lambda_http)",
            "target/release/hello",
            "target/lambda/hello/bootstrap",
        ),
    ] {
        let path = root.join(binary);
        let path = path.to_str().expect("a UTF-8 path");
        let _ = time_to_first_poll(path); // warm the page cache
        let samples: Vec<Duration> = (0..RUNS).map(|_| time_to_first_poll(path)).collect();
        let (best, mid) = (*samples.iter().min().unwrap(), median(samples));
        let size = size_mb(arm64).map_or("—".into(), |mb| format!("{mb:.2}"));
        let row = format!(
            "| {name} | {:.2} | {:.2} | {size} |",
            mid.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3
        );
        println!("{row}");
        rows.push(row);
    }
    let section = format!(
        "## Cold start\n\n\
         Command: `make bench-cold-start` (`infra/bench-cold-start.sh`). {date}; 2 cores.\n\n\
         **Init** is the time from process start to the function's first request for an event, \
         against a stand-in runtime API on loopback ({RUNS} runs, x86_64 release build, \
         `AWS_LC_SYS_NO_JITTER_ENTROPY=1`); targets: ≤ 20 ms. **Size** is the stripped arm64 \
         release binary from `cargo lambda build --release --arm64` (target ≤ 8 MB).\n\n\
         | function | init median ms | init best ms | arm64 size MB |\n|---|---|---|---|\n{}\n",
        rows.join("\n"),
        date = bench_section::utc_date(),
    );
    bench_section::write_section(&root, "cold-start", &section);
    println!("written to docs/benchmarks.md");
}
