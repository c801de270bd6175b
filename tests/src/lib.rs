//! The DynamoDB emulator fixture of PrimeScaler's integration tests.
//!
//! [`Emulator::start`] gives each test its own emulator, chosen by `PRIMESCALER_EMULATOR`:
//! - `dynalite` (the default): the npm package, on Node.js, from `infra/node_modules`,
//!   on a free loopback port; the fastest here, and strict where AWS is strict
//!   (docs/benchmarks.md, emulators);
//! - `moto`: moto server from the project's venv, on a free loopback port;
//! - `localstack`: LocalStack (image [`localstack::LOCALSTACK_IMAGE`]) in a container, as
//!   `make dev` runs it; needs a Docker daemon.
//!
//! The emulator stops when the fixture is dropped. Tests reach it through the real AWS
//! SDK over HTTP.

pub mod bench;
pub mod cluster;
pub mod command;
pub mod events;
pub mod faults;
pub mod iam;
pub mod localstack;
pub mod proxy;
pub mod restore;
pub mod twin;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use localstack::{LocalStack, Placement};
use primescaler_api::{ApiConfig, LiveDeps};
use primescaler_calculator::GuardSettings;
use primescaler_cluster::{ClusterConfig, Strategy};
use primescaler_dynamo::{Client, ClientSettings, connect, create_table};

/// How long an emulator may take to answer after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// As [`READY_TIMEOUT`], for LocalStack, whose DynamoDB (a JVM) starts at the first call:
/// about 10 s alone, and 32 s for three at once on 2 cores.
const LOCALSTACK_READY_TIMEOUT: Duration = Duration::from_secs(180);

/// Which emulator runs behind a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatorKind {
    /// dynalite, a local Node.js process.
    Dynalite,
    /// moto server, a local process.
    Moto,
    /// LocalStack, a container.
    LocalStack,
}

impl EmulatorKind {
    /// The kind `PRIMESCALER_EMULATOR` names (dynalite when unset).
    ///
    /// # Panics
    /// When it names another.
    pub fn from_env() -> Self {
        match std::env::var("PRIMESCALER_EMULATOR").as_deref() {
            Err(_) | Ok("" | "dynalite") => EmulatorKind::Dynalite,
            Ok("moto") => EmulatorKind::Moto,
            Ok("localstack") => EmulatorKind::LocalStack,
            Ok(other) => {
                panic!("PRIMESCALER_EMULATOR must be dynalite, moto or localstack, not {other}")
            }
        }
    }
}

enum Running {
    /// A local emulator process (dynalite or moto).
    Process(Child),
    /// Held so that the container lives as long as the fixture.
    LocalStack { _container: Box<LocalStack> },
}

/// A running DynamoDB emulator, stopped on drop.
pub struct Emulator {
    endpoint: String,
    kind: EmulatorKind,
    running: Running,
}

impl Emulator {
    /// Starts the emulator `PRIMESCALER_EMULATOR` names, and waits until it answers.
    pub async fn start() -> Self {
        match EmulatorKind::from_env() {
            EmulatorKind::LocalStack => Self::start_localstack_at(&Placement::default()).await,
            local => Self::start_kind(local).await,
        }
    }

    /// Starts a local emulator of `kind` (dynalite or moto) on a free port, and waits until
    /// it answers (benchmarks that compare them).
    pub async fn start_kind(kind: EmulatorKind) -> Self {
        let emulator = Self::start_process(kind, free_port());
        emulator.wait_until_ready().await;
        emulator
    }

    /// The emulator process's id, when it is a local process.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Process(child) => Some(child.id()),
            Running::LocalStack { .. } => None,
        }
    }

    /// Starts the local emulator `PRIMESCALER_EMULATOR` names (dynalite or moto) on `port`
    /// of 127.0.0.1, without waiting for it (tests that restart a node reuse the port).
    ///
    /// # Panics
    /// When it names LocalStack, which cannot restart on a port of its own choosing.
    pub fn start_local(port: u16) -> Self {
        let kind = EmulatorKind::from_env();
        assert!(
            kind != EmulatorKind::LocalStack,
            "a node restarted on its own port runs a local emulator"
        );
        Self::start_process(kind, port)
    }

    /// Starts `kind` (dynalite or moto) on `port` of 127.0.0.1, logging to
    /// `target/emulator-logs`.
    fn start_process(kind: EmulatorKind, port: u16) -> Self {
        Self::start_process_with(kind, port, &[])
    }

    /// As [`Emulator::start_process`], with `env` added to the process's environment.
    pub(crate) fn start_process_with(kind: EmulatorKind, port: u16, env: &[(&str, &str)]) -> Self {
        let log_dir = workspace_root().join("target/emulator-logs");
        std::fs::create_dir_all(&log_dir).expect("create target/emulator-logs");
        let name = format!("{kind:?}-{port}.log").to_lowercase();
        let log = std::fs::File::create(log_dir.join(name)).expect("create the emulator log");
        let port_arg = port.to_string();
        let mut command = match kind {
            EmulatorKind::Dynalite => {
                let mut node = Command::new("node");
                node.arg(dynalite_cli()).args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port_arg,
                    "--createTableMs",
                    "0",
                    "--deleteTableMs",
                    "0",
                    "--updateTableMs",
                    "0",
                ]);
                node
            }
            EmulatorKind::Moto => {
                let mut moto = Command::new(moto_server());
                moto.args(["-H", "127.0.0.1", "-p", &port_arg]);
                moto
            }
            EmulatorKind::LocalStack => unreachable!("LocalStack runs in a container"),
        };
        let child = command
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("spawn the {kind:?} emulator ({e}): run `make tools`, which installs it")
            });
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            kind,
            running: Running::Process(child),
        }
    }

    /// Starts LocalStack in a container placed as `placement` says, and waits until its
    /// DynamoDB answers (`make cloud`'s nodes: tests/src/bin/cloud_nodes.rs).
    pub async fn start_localstack_at(placement: &Placement) -> Self {
        let container = LocalStack::start_at(placement).await;
        let emulator = Self {
            endpoint: container.endpoint().to_string(),
            kind: EmulatorKind::LocalStack,
            running: Running::LocalStack {
                _container: Box::new(container),
            },
        };
        emulator.wait_until_ready().await;
        emulator
    }

    /// Waits until the emulator answers (after [`Emulator::start_local`]).
    pub async fn wait_until_ready(&self) {
        let mut settings = self.settings("us-east-1");
        settings.attempt_timeout = Duration::from_secs(1);
        settings.operation_timeout = Duration::from_secs(2);
        let client = connect(&settings).await;
        let timeout = match self.kind {
            EmulatorKind::LocalStack => LOCALSTACK_READY_TIMEOUT,
            _ => READY_TIMEOUT,
        };
        let started = Instant::now();
        loop {
            if client.list_tables().send().await.is_ok() {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "the {:?} emulator at {} did not answer within {timeout:?}",
                self.kind,
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The emulator's HTTP endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Which emulator this is.
    pub fn kind(&self) -> EmulatorKind {
        self.kind
    }

    /// Client settings that reach this emulator as `region`.
    pub fn settings(&self, region: &str) -> ClientSettings {
        ClientSettings::for_emulator(region, &self.endpoint)
    }

    /// A client for `region` of this emulator.
    pub async fn client(&self, region: &str) -> Client {
        connect(&self.settings(region)).await
    }

    /// Creates a table with a name no other test uses, in `region`; answers its name.
    pub async fn fresh_table(&self, region: &str) -> String {
        let name = format!("primes-{:016x}", fastrand::u64(..));
        create_table(&self.client(region).await, &name)
            .await
            .expect("create a test table");
        name
    }
}

impl Emulator {
    /// The API function's dependencies over a fresh table in `region`, serving n up to
    /// `max_n`.
    pub async fn api_deps(&self, region: &str, max_n: u64) -> LiveDeps {
        self.api_deps_guarded(region, max_n, GuardSettings::default())
            .await
    }

    /// As [`Emulator::api_deps`], with the calculators' `guard` settings.
    pub async fn api_deps_guarded(
        &self,
        region: &str,
        max_n: u64,
        guard: GuardSettings,
    ) -> LiveDeps {
        let table = self.fresh_table(region).await;
        let cluster = cluster_config(&[(region, self)], Strategy::default(), region);
        LiveDeps::connect(&ApiConfig {
            cluster,
            table,
            max_n,
            reset_token: None,
            reset_token_secret: None,
            guard,
            deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
        })
        .await
    }
}

/// How long a test cluster's breakers stay open after a node fails.
pub const TEST_BREAKER_COOLDOWN: std::time::Duration = std::time::Duration::from_millis(500);

/// A cluster of `nodes`, each a region on its own emulator, storing with `strategy`,
/// beside the node named `local`.
pub fn cluster_config(
    nodes: &[(&str, &Emulator)],
    strategy: Strategy,
    local: &str,
) -> ClusterConfig {
    let names: Vec<&str> = nodes.iter().map(|(name, _)| *name).collect();
    let endpoints: Vec<String> = nodes
        .iter()
        .map(|(name, emulator)| format!("{name}={}", emulator.endpoint()))
        .collect();
    let vars = [
        ("NODES", names.join(",")),
        ("NODE_ENDPOINTS", endpoints.join(",")),
        ("LOCAL_NODE", local.to_string()),
        ("STRATEGY", strategy.as_str().to_string()),
        ("NODE_TIMEOUT_MS", "2000".to_string()),
        (
            "BREAKER_COOLDOWN_MS",
            TEST_BREAKER_COOLDOWN.as_millis().to_string(),
        ),
    ];
    ClusterConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("a valid test cluster")
}

/// Creates one table, with a name no other test uses, on each node's emulator; answers
/// its name.
pub async fn fresh_cluster_table(nodes: &[(&str, &Emulator)]) -> String {
    let name = format!("primes-{:016x}", fastrand::u64(..));
    for (region, emulator) in nodes {
        create_table(&emulator.client(region).await, &name)
            .await
            .expect("create a test table");
    }
    name
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // A LocalStack container is removed by its own drop.
        if let Running::Process(child) = &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Ports for servers a test stops and starts again on the same port: below Linux's
/// ephemeral range (32768 and up), so that no outgoing connection takes the port while
/// its server is down (a restarted emulator once met EADDRINUSE there).
pub const RESTARTABLE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A listener on a free loopback port of [`RESTARTABLE_PORTS`].
pub fn bind_restartable() -> TcpListener {
    (0..1_000)
        .find_map(|_| TcpListener::bind(("127.0.0.1", fastrand::u16(RESTARTABLE_PORTS))).ok())
        .unwrap_or_else(|| panic!("no free loopback port in {RESTARTABLE_PORTS:?}"))
}

/// A loopback port of [`RESTARTABLE_PORTS`] that was free a moment ago.
pub fn restartable_port() -> u16 {
    bind_restartable()
        .local_addr()
        .expect("a bound listener's address")
        .port()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

/// The workspace root: the parent of this crate.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// moto_server from `MOTO_SERVER`, else the project's venv, else `PATH`.
fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return path.into();
    }
    let venv = workspace_root().join(".venv/bin/moto_server");
    if venv.exists() {
        venv
    } else {
        "moto_server".into()
    }
}

/// dynalite's command line, from the project's `infra/node_modules` (`make tools`), with
/// the idle keep-alive `make dev` gives it (`infra/dynalite.js`).
fn dynalite_cli() -> PathBuf {
    workspace_root().join("infra/dynalite.js")
}
