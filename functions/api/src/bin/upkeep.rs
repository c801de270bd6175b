//! The upkeep function: builds its clients once, then runs one handoff pass per
//! invocation (a scheduled event in AWS, an invoke under `cargo lambda watch`).

use std::sync::Arc;

use lambda_http::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Not `LiveDeps::from_env`: the upkeep clears nothing, so it never reads the reset
    // token, and its policy grants no Secrets Manager read (tests/policy_actions.rs).
    let config = primescaler_api::ApiConfig::from_env()?;
    let deps = primescaler_api::LiveDeps::connect(&config).await;
    deps.service.warm_up().await;
    let deps = Arc::new(deps);
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let deps = Arc::clone(&deps);
        async move { Ok::<Value, Error>(primescaler_api::upkeep(&deps, event.payload).await) }
    }))
    .await
}
