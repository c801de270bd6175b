//! A call the SDK retried is "never sent" only if no attempt of it was sent.
//!
//! The adapter tells a node that refused a connection (nothing was applied: the caller
//! may store elsewhere) from one whose answer was lost (a write may have landed: the
//! caller must not store a second copy). The SDK retries a call whose connection failed,
//! and reports only the last attempt's error. So a write whose first attempt went out
//! and timed out, and whose retry then met a refused connection (the node went down in
//! between), would read as never sent. [`SentAttempts`] watches every attempt of a call,
//! and when an earlier one may have reached the node, it turns a last "refused" into an
//! error that reads as lost.

use aws_sdk_dynamodb::config::interceptors::{
    FinalizerInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use aws_smithy_types::error::display::DisplayErrorContext;

/// Put in the call's config bag once one of its attempts may have reached the node.
#[derive(Debug, Clone)]
struct MayHaveLanded;

impl Storable for MayHaveLanded {
    type Storer = StoreReplace<Self>;
}

/// The interceptor every client of the adapter carries (see the module's doc).
#[derive(Debug, Default)]
pub(crate) struct SentAttempts;

impl Intercept for SentAttempts {
    fn name(&self) -> &'static str {
        "SentAttempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let unsent = matches!(
            context.output_or_error(),
            Some(Err(error)) if never_sent(error)
        );
        if !unsent {
            cfg.interceptor_state().store_put(MayHaveLanded);
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<MayHaveLanded>().is_none() {
            return Ok(());
        }
        if let Some(result) = context.output_or_error_mut()
            && let Err(error) = result
            && never_sent(error)
        {
            let last = DisplayErrorContext(&*error).to_string();
            *result = Err(OrchestratorError::connector(ConnectorError::other(
                Box::new(EarlierAttemptMayHaveLanded(last)),
                None,
            )));
        }
        Ok(())
    }
}

/// Whether this attempt's error says its connection was never made.
fn never_sent<E>(error: &OrchestratorError<E>) -> bool {
    error
        .as_connector_error()
        .is_some_and(|e| crate::store::never_connected(e))
}

/// A call whose last attempt was refused after an earlier one may have reached the node.
/// It has no source on purpose: the refusal under it must not read as "never sent".
#[derive(Debug)]
struct EarlierAttemptMayHaveLanded(String);

impl std::fmt::Display for EarlierAttemptMayHaveLanded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an earlier attempt may have reached the node; the last one failed: {}",
            self.0
        )
    }
}

impl std::error::Error for EarlierAttemptMayHaveLanded {}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::ErrorKind;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use aws_config::BehaviorVersion;
    use aws_config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use primescaler_core::StoreError;

    use super::*;

    /// An HTTP client whose every attempt fails with the next of its scripted I/O errors.
    #[derive(Debug, Clone)]
    struct Scripted(Arc<Mutex<VecDeque<ErrorKind>>>);

    impl HttpConnector for Scripted {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            let kind = self
                .0
                .lock()
                .unwrap()
                .pop_front()
                .expect("an attempt was scripted");
            HttpConnectorFuture::ready(Err(ConnectorError::io(Box::new(std::io::Error::from(
                kind,
            )))))
        }
    }

    impl HttpClient for Scripted {
        fn http_connector(
            &self,
            _settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    /// What a `PutItem` whose attempts fail as scripted is taken for.
    async fn put_failing_with(attempts: &[ErrorKind]) -> StoreError {
        let script = Scripted(Arc::new(Mutex::new(attempts.iter().copied().collect())));
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts.len() as u32)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .http_client(script.clone())
            .load()
            .await;
        let client = crate::client::client_from(&config);
        let error = client
            .put_item()
            .table_name("t")
            .item("n", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
            .send()
            .await
            .expect_err("every attempt fails");
        assert!(
            script.0.lock().unwrap().is_empty(),
            "every attempt was made"
        );
        crate::store::store_error("PutItem", error)
    }

    #[tokio::test]
    async fn a_call_refused_at_every_attempt_was_never_sent() {
        // GIVEN a node that refuses every connection
        // WHEN a write is tried three times
        // THEN it is known not to have landed
        let error = put_failing_with(&[ErrorKind::ConnectionRefused; 3]).await;
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_refusal_after_an_attempt_that_went_out_is_a_lost_answer() {
        // GIVEN a write whose first attempt went out and lost its connection, and whose
        // retries were refused (the node went down in between)
        let error = put_failing_with(&[
            ErrorKind::ConnectionReset,
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionRefused,
        ])
        .await;
        // THEN it may have landed: its answer was lost, not refused
        assert!(matches!(error, StoreError::Lost(_)), "{error:?}");
        assert!(error.to_string().contains("earlier attempt"), "{error}");
    }
}
