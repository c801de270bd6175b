//! The UI function: connects to every node once, then serves the page and its assets.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = primescaler_ui::UiConfig::from_env()?;
    let deps = primescaler_ui::LiveUiDeps::connect(&config).await;
    // In Lambda's init: a first read of the grid opens a connection to each node (three
    // round trips each, at a region's distance), so that the first page and poll do not
    // pay for them, and leaves them a snapshot.
    deps.grid.current().await;
    let router = primescaler_ui::router(std::sync::Arc::new(deps));
    primescaler_serve::serve(router, primescaler_ui::UI_PORT, "the UI").await
}
