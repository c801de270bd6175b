//! The reset token, read once at start-up from AWS Secrets Manager, so that it is never
//! in the function's environment (which anyone allowed `GetFunctionConfiguration` can
//! read).

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::ConfigError;

/// The string value of the secret `id` (its ARN or name).
pub async fn read_secret(client: &Client, id: &str) -> Result<String, ConfigError> {
    let answer = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            ConfigError::new(format!(
                "reading the secret {id}: {}",
                DisplayErrorContext(&e)
            ))
        })?;
    answer
        .secret_string()
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ConfigError::new(format!("the secret {id} holds no string")))
}

/// A Secrets Manager client from the environment's region, endpoint and credentials.
pub async fn secrets_client() -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&config)
}
