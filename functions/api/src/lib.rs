//! PrimeScaler's API function.
//!
//! [`handle`] takes the dependencies built once in `main` and one HTTP request (an
//! API Gateway HTTP API v2 event, as `lambda_http` decodes it), and answers JSON.
//! Routing reads the raw path, so it works the same under API Gateway, `sam local`
//! and `cargo lambda watch` (which fills no path parameters).

mod config;
mod error;
mod handlers;
mod instance;
mod routes;

pub use config::{ApiConfig, ConfigError, DEFAULT_MAX_N};
pub use error::ApiError;
pub use handlers::handle;
pub use instance::Instance;
pub use routes::{MAX_PAGE_LIMIT, Route, parse_cursor};

use primescaler_calculator::GuardedCalculator;
use primescaler_core::PrimeService;
use primescaler_dynamo::{ClientSettings, DynamoStore, connect};

/// What every invocation shares: built once per function instance.
pub struct Deps<S, C> {
    /// The get-or-compute rules over the node's store.
    pub service: PrimeService<S, C>,
    /// This function instance's id and cold-start flag.
    pub instance: Instance,
    /// The largest n served.
    pub max_n: u64,
}

impl<S, C> Deps<S, C> {
    /// Dependencies over `store` and `calculator` on `node`.
    pub fn new(store: S, calculator: C, node: impl Into<String>, max_n: u64) -> Self {
        Self {
            service: PrimeService::new(store, calculator, node),
            instance: Instance::start(),
            max_n,
        }
    }
}

/// The dependencies of the deployed function: DynamoDB and the guarded calculator.
pub type LiveDeps = Deps<DynamoStore, GuardedCalculator>;

impl LiveDeps {
    /// Reads [`ApiConfig`] from the environment and connects to the node's table.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = ApiConfig::from_env()?;
        Ok(Self::connect(&config, &ClientSettings::for_region(&config.node)).await)
    }

    /// Connects to the table named by `config` with the client `settings`.
    pub async fn connect(config: &ApiConfig, settings: &ClientSettings) -> Self {
        let store = DynamoStore::new(connect(settings).await, &config.table);
        let calculator = GuardedCalculator::new(config.guard);
        Self::new(store, calculator, &config.node, config.max_n)
    }
}
