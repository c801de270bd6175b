//! The UI function: connects to every node once, then serves the page and its assets.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = primescaler_ui::UiConfig::from_env()?;
    let deps = primescaler_ui::LiveUiDeps::connect(&config).await;
    let router = primescaler_ui::router(std::sync::Arc::new(deps));
    primescaler_serve::serve(router, primescaler_ui::UI_PORT, "the UI").await
}
