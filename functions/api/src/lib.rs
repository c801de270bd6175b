//! PrimeScaler's API function.
//!
//! [`handle`] takes the dependencies built once in `main` and one HTTP request (an
//! API Gateway HTTP API v2 event, as `lambda_http` decodes it), and answers JSON.
//! Routing reads the raw path, so it works the same under API Gateway, `sam local`
//! and `cargo lambda watch` (which fills no path parameters). [`router`] wraps
//! [`handle`] in one axum `Router`, which `main` runs as a Lambda function or, without
//! the Lambda runtime API, as a plain HTTP server on [`API_PORT`].
//!
//! [`upkeep`] is the upkeep function's handler (the `upkeep` binary): per scheduled
//! invocation, the cluster's background work that no request carries (the membership
//! spread and the mover, handoff, the repair and the sweep).

mod config;
mod error;
mod handlers;
mod instance;
mod membership;
pub mod metrics;
mod router;
mod routes;
mod secret;
mod upkeep;

pub use config::{ApiConfig, ConfigError};
pub use error::ApiError;
pub use handlers::handle;
pub use instance::Instance;
pub use primescaler_core::DEFAULT_MAX_N;
pub use router::{API_PORT, BODY_LIMIT, router};
pub use routes::{MAX_PAGE_LIMIT, Route, format_cursor, parse_cursor, parse_limit};
pub use secret::{read_secret, secrets_client};
pub use upkeep::upkeep;

use primescaler_calculator::{GuardedCalculator, PrimaryProcess};
use primescaler_cluster::{ClusterService, Node};
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};

/// What every invocation shares: built once per function instance.
pub struct Deps<S, C> {
    /// The get-or-compute rules over every node.
    pub service: ClusterService<S, C>,
    /// This function instance's id and cold-start flag.
    pub instance: Instance,
    /// The largest n served.
    pub max_n: u64,
    /// The bearer token that deletions require, if any.
    pub reset_token: Option<String>,
    /// The function's name, when each served prime is to be written out as CloudWatch
    /// Embedded Metric Format (in Lambda and under `cargo lambda watch`).
    pub metrics_function: Option<String>,
    /// How long one request may take, end to end (shortened to the invocation's own
    /// deadline in Lambda).
    pub deadline: std::time::Duration,
}

impl<S, C> Deps<S, C> {
    /// Dependencies over `service`, serving n up to `max_n`, with deletions open.
    pub fn new(service: ClusterService<S, C>, max_n: u64) -> Self {
        Self {
            service,
            instance: Instance::start(),
            max_n,
            reset_token: None,
            metrics_function: None,
            deadline: primescaler_cluster::service::DEFAULT_DEADLINE,
        }
    }

    /// These dependencies with each request given `deadline`.
    pub fn with_deadline(self, deadline: std::time::Duration) -> Self {
        Self { deadline, ..self }
    }

    /// These dependencies with deletions guarded by `token`.
    pub fn with_reset_token(self, token: Option<String>) -> Self {
        Self {
            reset_token: token,
            ..self
        }
    }
}

/// The dependencies of the deployed function: DynamoDB and the guarded calculator.
pub type LiveDeps = Deps<DynamoStore, GuardedCalculator>;

impl LiveDeps {
    /// Reads [`ApiConfig`] from the environment, reads the reset token from the secret
    /// it names (if any), connects to every node's table and opens a connection to each
    /// (in Lambda's init, so that requests find them open); writes metrics
    /// when running as a Lambda function.
    /// The primary calculator runs a large n in a child process of `primary` (the
    /// running binary, from [`primescaler_calculator::answer_if_asked`]).
    pub async fn from_env(primary: PrimaryProcess) -> Result<Self, ConfigError> {
        let mut config = ApiConfig::from_env()?;
        if let Some(id) = &config.reset_token_secret {
            config.reset_token = Some(read_secret(&secrets_client().await, id).await?);
        }
        let calculator = GuardedCalculator::new(config.guard).with_primary_process(primary);
        let deps = Self::connect_with(&config, calculator).await;
        deps.service.warm_up().await;
        Ok(Self {
            metrics_function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            ..deps
        })
    }

    /// Connects to every node named by `config`. A node with an explicit endpoint is an
    /// emulator and gets dummy credentials; the others use the default chain.
    pub async fn connect(config: &ApiConfig) -> Self {
        Self::connect_with(config, GuardedCalculator::new(config.guard)).await
    }

    /// [`Self::connect`], with `calculator`.
    async fn connect_with(config: &ApiConfig, calculator: GuardedCalculator) -> Self {
        let cluster = &config.cluster;
        let mut nodes = Vec::with_capacity(cluster.nodes.len());
        for node in &cluster.nodes {
            let settings = ClientSettings::for_node(&node.name, node.endpoint.as_deref())
                .with_emulator_keys(cluster.emulator_keys.as_ref())
                .with_budget(cluster.call_ceiling());
            let store = DynamoStore::new(connect(&settings).await, &config.table);
            nodes.push(
                Node::new(&node.name, store, cluster.breaker_cooldown)
                    .with_budget(cluster.node_timeout),
            );
        }
        let service = ClusterService::new(nodes, cluster.strategy, cluster.local, calculator)
            .with_seed_members(cluster.members.clone())
            .expect("the configuration checks its members")
            .with_write_grace(cluster.write_grace)
            .with_move_settle(cluster.move_settle)
            .with_repair_runs(cluster.repair_runs);
        Self::new(service, config.max_n)
            .with_reset_token(config.reset_token.clone())
            .with_deadline(config.deadline)
    }
}
