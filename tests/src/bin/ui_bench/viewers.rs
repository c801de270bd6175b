//! Viewers: pages polling one UI instance in the benchmark's process, so that its store
//! reads can be counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use primescaler_tests::bench::Latencies;
use primescaler_ui::{LiveUiDeps, router};

use crate::emulators_mb;

/// The cell the viewers' writer evicts and computes in turn, every 2 s.
pub(crate) const TOGGLED: u64 = 9_990;
use crate::stack::Stack;

/// What the viewers of one run saw.
pub(crate) struct Viewing {
    pub(crate) viewers: usize,
    pub(crate) polls: Latencies,
    pub(crate) changed: usize,
    pub(crate) store_reads_per_s: f64,
    pub(crate) memory_growth_mb: f64,
}

/// `viewers` pages polling one UI instance in this process once a second for `length`,
/// each with its own ETag, while a writer changes a cell every 2 s through the API.
pub(crate) async fn view(stack: &Stack, viewers: usize, length: Duration) -> Viewing {
    let deps = Arc::new(LiveUiDeps::connect(&stack.config).await);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind a loopback port");
    let ui = format!("http://{}", listener.local_addr().expect("an address"));
    let served = Arc::clone(&deps);
    let server = tokio::spawn(async move { axum::serve(listener, router(served)).await });
    let nodes = stack.config.cluster.nodes.len() as u64;
    let memory_before = emulators_mb();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (http, base, token, stop) = (
            stack.http.clone(),
            stack.base.clone(),
            stack.token.clone(),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut evict = true;
            while !stop.load(Ordering::Relaxed) {
                let request = if evict {
                    http.delete(format!("{base}/primes/{TOGGLED}"))
                        .bearer_auth(&token)
                } else {
                    http.get(format!("{base}/primes/{TOGGLED}"))
                };
                let _ = request.send().await;
                evict = !evict;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..viewers {
        let (http, url) = (stack.http.clone(), format!("{ui}/grid"));
        tasks.spawn(async move {
            // Each page polls at its own offset within the second.
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1000))).await;
            let mut etag = String::new();
            let mut samples = Vec::new();
            let mut changed = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while started.elapsed() < length {
                tick.tick().await;
                let t = Instant::now();
                let response = http
                    .get(&url)
                    .header("If-None-Match", &etag)
                    .send()
                    .await
                    .expect("the UI answers");
                if response.status() == reqwest::StatusCode::OK {
                    changed += 1;
                    etag = response.headers()["etag"].to_str().unwrap().to_string();
                    response.bytes().await.expect("a body");
                }
                samples.push(t.elapsed());
            }
            (samples, changed)
        });
    }
    let mut samples = Vec::new();
    let mut changed = 0;
    for (viewer, seen) in tasks.join_all().await {
        samples.extend(viewer);
        changed += seen;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.await.expect("the writer stops");
    server.abort();
    // One GetItem per node per read, and every item a scan read.
    let store_reads = deps.grid.reads() * nodes + deps.grid.scanned_items();
    Viewing {
        viewers,
        polls: Latencies(samples),
        changed,
        store_reads_per_s: store_reads as f64 / elapsed.as_secs_f64(),
        memory_growth_mb: emulators_mb() - memory_before,
    }
}
