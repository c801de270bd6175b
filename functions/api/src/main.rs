//! The API function: builds its clients once, then serves one event per invocation (or,
//! outside Lambda, plain HTTP on `API_PORT`).

use std::sync::Arc;

use primescaler_calculator::PrimaryProcess;

fn main() -> Result<(), lambda_http::Error> {
    // First: started as `--nth-prime N`, this binary is the primary calculator's process.
    let primary = primescaler_calculator::answer_if_asked();
    run(primary)
}

#[tokio::main]
async fn run(primary: PrimaryProcess) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = Arc::new(primescaler_api::LiveDeps::from_env(primary).await?);
    let router = primescaler_api::router(deps);
    primescaler_serve::serve(router, primescaler_api::API_PORT, "the API").await
}
