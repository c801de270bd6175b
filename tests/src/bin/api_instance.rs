//! One API function instance in a process of its own, configured from the environment
//! as the `api` binary is and serving plain HTTP on `API_PORT`: what the fault matrix
//! runs two of, racing on the same n. (Built with the tests, so that a test can start it
//! by path.)

use std::sync::Arc;

use primescaler_calculator::PrimaryProcess;

fn main() -> Result<(), lambda_http::Error> {
    // First: started as `--nth-prime N`, this binary is the primary calculator's process.
    let primary = primescaler_calculator::answer_if_asked();
    run(primary)
}

#[tokio::main]
async fn run(primary: PrimaryProcess) -> Result<(), lambda_http::Error> {
    let deps = Arc::new(primescaler_api::LiveDeps::from_env(primary).await?);
    let router = primescaler_api::router(deps);
    primescaler_serve::serve(router, primescaler_api::API_PORT, "an API instance").await
}
