//! Runs one axum [`Router`] in either of the two places a PrimeScaler function lives:
//! as a Lambda function when the Lambda runtime API is there (in AWS, under
//! `cargo lambda watch` and under `sam local`), else as a plain HTTP server on loopback.

use axum::Router;

/// Where a function listens when it runs without the Lambda runtime API.
#[derive(Debug, Clone, Copy)]
pub struct LocalPort {
    /// The environment variable that may name the port.
    pub variable: &'static str,
    /// The port when that variable is unset.
    pub default: u16,
}

/// Serves `router` as a Lambda function when `AWS_LAMBDA_RUNTIME_API` is set, else
/// [`listen`]s on `port`; `what` names the function in the log.
pub async fn serve(router: Router, port: LocalPort, what: &str) -> Result<(), lambda_http::Error> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(router).await;
    }
    listen(router, port, what).await
}

/// Serves `router` as plain HTTP on `127.0.0.1` at `port` (its variable's value, or its
/// default when unset); `what` names the function in the log.
pub async fn listen(router: Router, port: LocalPort, what: &str) -> Result<(), lambda_http::Error> {
    let number = match std::env::var(port.variable) {
        Ok(raw) => raw
            .parse::<u16>()
            .map_err(|_| format!("{}={raw:?} is not a port number", port.variable))?,
        Err(_) => port.default,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", number)).await?;
    tracing::info!(address = %listener.local_addr()?, "serving {what}");
    axum::serve(listener, router).await?;
    Ok(())
}
