//! The API function: builds its clients once, then serves one event per invocation.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = primescaler_api::LiveDeps::from_env().await?;
    run(service_fn(|request| {
        primescaler_api::handle(&deps, request)
    }))
    .await
}
