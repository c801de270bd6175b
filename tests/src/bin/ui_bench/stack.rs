//! The stack under test, and the HTTP and store calls the benchmark makes of it.

use std::process::Command;
use std::time::{Duration, Instant};

use primescaler_ui::live::FRESH_FOR;

use primescaler_cluster::GridReader;
use primescaler_core::{GetRecord, RecordKey, ScanRecords};
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};
use primescaler_tests::bench::{Latencies, http_client, throughput};
use primescaler_ui::UiConfig;

/// The body of `GET {url}`, gzip or not. A call that the local Lambda emulation drops
/// (no answer, or its own bare 500) is made again, at most twice.
pub(crate) async fn fetch(http: &reqwest::Client, url: &str, gzip: bool) -> Vec<u8> {
    fetch_encoded(http, url, if gzip { "gzip" } else { "identity" }).await
}

/// The body of `GET url` as sent to a client that accepts `encoding` (not decoded).
pub(crate) async fn fetch_encoded(http: &reqwest::Client, url: &str, encoding: &str) -> Vec<u8> {
    for attempt in 1..=3 {
        let request = http.get(url).header("Accept-Encoding", encoding);
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                return response.bytes().await.expect("a body").to_vec();
            }
            Ok(response) if response.status().is_server_error() && attempt < 3 => {
                eprintln!("GET {url}: {}, trying again", response.status());
            }
            Ok(response) => panic!("GET {url}: {}", response.status()),
            Err(error) if attempt < 3 => eprintln!("GET {url}: {error}, trying again"),
            Err(error) => panic!("GET {url}: {error}"),
        }
    }
    unreachable!("the third attempt returns or panics")
}

/// Unchanged polls of the grid beside `GET /health`, on the same stack.
pub(crate) struct PollRun {
    /// `GET /grid` with the grid's ETag.
    pub(crate) polls: Latencies,
    /// `GET /health`, one after each poll.
    pub(crate) health: Latencies,
    /// Polls answered 200 (the grid had changed) rather than 304.
    pub(crate) answered_200: usize,
}

/// The stack under test: its URL, its reset token, the UI settings and each node's store.
pub(crate) struct Stack {
    pub(crate) base: String,
    pub(crate) token: String,
    pub(crate) config: UiConfig,
    pub(crate) stores: Vec<DynamoStore>,
    pub(crate) http: reqwest::Client,
}

impl Stack {
    pub(crate) async fn from_env() -> Self {
        let config = UiConfig::from_env().expect("the UI configuration");
        let mut stores = Vec::new();
        for node in &config.cluster.nodes {
            let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref());
            stores.push(DynamoStore::new(connect(&settings).await, &config.table));
        }
        Self {
            base: std::env::var("BENCH_API").expect("BENCH_API: the stack's base URL"),
            token: std::env::var("RESET_TOKEN").expect("RESET_TOKEN"),
            config,
            stores,
            http: http_client(),
        }
    }

    /// The time to the page's first byte (its response's head, gzip), asked past the
    /// shared snapshot's freshness, so that the render reads every node's version.
    pub(crate) async fn page_first_byte(&self) -> Duration {
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
        let t = Instant::now();
        let response = self
            .http
            .get(format!("{}/", self.base))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .expect("the stack answers");
        let took = t.elapsed();
        response.bytes().await.expect("the page");
        took
    }

    /// `runs` unchanged polls of `GET /grid` (its ETag sent), each past the shared
    /// snapshot's freshness so that each reads every node's version, alternating with
    /// `GET /health`.
    pub(crate) async fn polls_beside_health(&self, runs: usize) -> PollRun {
        let grid = format!("{}/grid", self.base);
        let etag = self
            .http
            .get(&grid)
            .send()
            .await
            .expect("the stack answers")
            .headers()["etag"]
            .clone();
        // Untimed first: each function instance the local emulation runs (up to
        // WATCH_CONCURRENCY) rescans the grid on its first sight of the versions and
        // once more when that sight has settled (2 s later); what is timed is the poll
        // of an instance that has.
        let instances: usize = std::env::var("WATCH_CONCURRENCY")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(4);
        for _ in 0..2 * instances + 2 {
            tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
            let poll = self.http.get(&grid).header("If-None-Match", &etag);
            poll.send().await.expect("the stack answers");
        }
        let (mut polls, mut health, mut answered_200) = (Vec::new(), Vec::new(), 0);
        for _ in 0..runs {
            tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
            let t = Instant::now();
            let response = self
                .http
                .get(&grid)
                .header("If-None-Match", &etag)
                .send()
                .await
                .expect("the stack answers");
            polls.push(t.elapsed());
            answered_200 += usize::from(response.status() == reqwest::StatusCode::OK);
            let t = Instant::now();
            fetch(&self.http, &format!("{}/health", self.base), false).await;
            health.push(t.elapsed());
        }
        PollRun {
            polls: Latencies(polls),
            health: Latencies(health),
            answered_200,
        }
    }

    pub(crate) async fn reset(&self) {
        let reset = self
            .http
            .delete(format!("{}/cache", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("reset");
        assert!(reset.status().is_success(), "reset: {}", reset.status());
    }

    /// Computes n = 1..=k through the API, `concurrency` at a time; answers requests per
    /// second. Calls the emulation dropped are made again after (not timed).
    pub(crate) async fn fill(&self, k: usize, concurrency: usize) -> f64 {
        let (client, api) = (self.http.clone(), self.base.clone());
        let rate = throughput(k, concurrency, move |i| {
            let (client, url) = (client.clone(), format!("{api}/primes/{}", i + 1));
            async move {
                let _ = client.get(&url).send().await;
            }
        })
        .await;
        let missing = self.missing(k).await;
        for &n in &missing {
            fetch(&self.http, &format!("{}/primes/{n}", self.base), false).await;
        }
        let still = self.missing(k).await;
        for &n in still.iter().take(5) {
            for (node, store) in self.config.cluster.names().iter().zip(&self.stores) {
                let entry = store.get_entry(RecordKey::for_index(n as u64)).await;
                eprintln!("n = {n} not in a grid read; on {node}: {entry:?}");
            }
        }
        assert!(
            still.is_empty(),
            "not in a grid read after the fill: {still:?}"
        );
        rate
    }

    /// The n in 1..=k that a grid read from nothing does not show.
    pub(crate) async fn missing(&self, k: usize) -> Vec<usize> {
        let read = self.reader().read().await;
        assert!(read.down.is_empty(), "nodes down: {:?}", read.down);
        let mut cached = vec![false; k + 1];
        for cell in read.cells.iter().filter(|c| c.n as usize <= k) {
            cached[cell.n as usize] = true;
        }
        (1..=k).filter(|&n| !cached[n]).collect()
    }

    /// Computes n = 1..=k by curl, `concurrency` at a time (`xargs -P`); answers
    /// requests per second.
    pub(crate) fn curl_fill(&self, k: usize, concurrency: usize) -> f64 {
        let started = Instant::now();
        let status = Command::new("bash")
            .args([
                "-c",
                &format!(
                    "seq {k} | xargs -P {concurrency} -I{{}} curl -s -o /dev/null --max-time 30 '{}/primes/{{}}'",
                    self.base
                ),
            ])
            .status()
            .expect("bash runs curl");
        assert!(status.success(), "curl fill: {status}");
        k as f64 / started.elapsed().as_secs_f64()
    }

    /// The whole-table read of every node in turn, page by page: what a grid read cost
    /// before the grid index, and what it would cost without one.
    pub(crate) async fn scan_every_table(&self) -> usize {
        let mut items = 0;
        for store in &self.stores {
            let mut cursor = None;
            loop {
                let page = store.scan_records(cursor, 10_000).await.expect("scan");
                items += page.records.len();
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        items
    }

    /// A grid reader over the stack's nodes, with nothing read yet.
    pub(crate) fn reader(&self) -> GridReader<DynamoStore> {
        let nodes = self
            .config
            .cluster
            .names()
            .into_iter()
            .zip(self.stores.iter().cloned())
            .collect();
        GridReader::new(nodes, self.config.scan_budget)
    }
}
