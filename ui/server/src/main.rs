//! The UI function: connects to every node once, then serves the page and its assets.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = primescaler_ui::UiConfig::from_env()?;
    let deps = primescaler_ui::LiveUiDeps::connect(&config).await;
    // In Lambda's init, so that the first page and poll do not pay for them.
    deps.grid.open_connections().await;
    let router = primescaler_ui::router(std::sync::Arc::new(deps));
    primescaler_serve::serve(router, primescaler_ui::UI_PORT, "the UI").await
}
