//! Building the DynamoDB client once, at start-up.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, timeout::TimeoutConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;

/// How to reach one node's DynamoDB.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The AWS region of the node.
    pub region: String,
    /// An explicit endpoint (an emulator). `None` uses the environment's
    /// `AWS_ENDPOINT_URL_DYNAMODB`, or else the region's public endpoint.
    pub endpoint: Option<String>,
    /// Static credentials, for an emulator. `None` uses the default chain.
    pub static_credentials: Option<(String, String)>,
    /// The time budget of one attempt at one call.
    pub attempt_timeout: Duration,
    /// The time budget of one call, retries included.
    pub operation_timeout: Duration,
    /// How many attempts one call may make.
    pub max_attempts: u32,
}

impl ClientSettings {
    /// Settings for `region` with the environment's endpoint and credentials.
    pub fn for_region(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            endpoint: None,
            static_credentials: None,
            attempt_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(5),
            max_attempts: 3,
        }
    }

    /// These settings with a call budget of `budget` per attempt and twice that per
    /// call, as a node of a cluster uses them, so that a down node is noticed quickly.
    /// Up to three attempts fit when the first fail fast (a throttled call is retried
    /// after an exponential backoff with jitter); an attempt that hangs uses the budget.
    pub fn with_budget(self, budget: Duration) -> Self {
        Self {
            attempt_timeout: budget,
            operation_timeout: budget * 2,
            max_attempts: 3,
            ..self
        }
    }

    /// Settings for the node in `region`: an explicit `endpoint` is an emulator and gets
    /// dummy credentials; without one, the region's endpoint and the default chain.
    pub fn for_node(region: &str, endpoint: Option<&str>) -> Self {
        match endpoint {
            Some(endpoint) => Self::for_emulator(region, endpoint),
            None => Self::for_region(region),
        }
    }

    /// These settings signed with `keys` (access key id, secret) when they name an
    /// emulator and `keys` is given: an emulator that enforces IAM needs a user's keys.
    pub fn with_emulator_keys(self, keys: Option<&(String, String)>) -> Self {
        match keys {
            Some(keys) if self.endpoint.is_some() => Self {
                static_credentials: Some(keys.clone()),
                ..self
            },
            _ => self,
        }
    }

    /// Settings for an emulator at `endpoint`, with dummy credentials.
    pub fn for_emulator(region: impl Into<String>, endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            static_credentials: Some(("test".into(), "test".into())),
            ..Self::for_region(region)
        }
    }
}

/// Builds a client from `settings`.
pub async fn connect(settings: &ClientSettings) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(settings.attempt_timeout)
                .operation_timeout(settings.operation_timeout)
                .build(),
        )
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.max_attempts)
                .with_initial_backoff(Duration::from_millis(20)),
        );
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((key, secret)) = &settings.static_credentials {
        loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "static"));
    }
    client_from(&loader.load().await)
}

/// A client for `config`, with the adapter's interceptor: a call that an earlier attempt
/// may have delivered never reads as refused (see `attempts.rs`).
pub(crate) fn client_from(config: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(crate::attempts::SentAttempts)
        .build();
    Client::from_conf(config)
}
