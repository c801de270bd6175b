//! JSON error answers: `{"error": code, "message": text}`.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use primescaler_core::{InvalidIndex, ServiceError, StoreError};
use serde_json::json;

/// An error answer: its status, a stable machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code, such as `invalid_n`.
    pub code: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
    /// The methods a route allows, sent as `Allow` with a 405.
    pub allow: Option<&'static str>,
    /// Whether to send `WWW-Authenticate: Bearer` (with a 401).
    pub challenge: bool,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            challenge: false,
        }
    }

    /// 404: no route matches the path.
    pub fn not_found(path: &str) -> Self {
        let shown: String = path.chars().take(64).collect();
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {shown:?}; see GET /health and the API reference"),
        )
    }

    /// 401: a deletion without the reset token.
    pub fn unauthorized() -> Self {
        Self {
            challenge: true,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "deleting needs the reset token: send Authorization: Bearer <token>",
            )
        }
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed here; use {allow}"),
            )
        }
    }

    /// 400: a request with a body; the API takes none.
    pub fn unexpected_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unexpected_body",
            "this API takes no request body",
        )
    }

    /// 500: a failure whose details are logged, not sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; it has been logged",
        )
    }

    /// The JSON response.
    pub fn into_response(self) -> Response<Body> {
        let body = json!({ "error": self.code, "message": self.message }).to_string();
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(allow) = self.allow {
            builder = builder.header(header::ALLOW, allow);
        }
        if self.challenge {
            builder = builder.header(header::WWW_AUTHENTICATE, "Bearer");
        }
        builder
            .body(Body::from(body))
            .expect("static headers are valid")
    }
}

impl From<InvalidIndex> for ApiError {
    fn from(invalid: InvalidIndex) -> Self {
        let code = match invalid {
            InvalidIndex::AboveLimit { .. } => "n_out_of_range",
            InvalidIndex::Zero => "n_out_of_range",
            _ => "invalid_n",
        };
        Self::new(StatusCode::BAD_REQUEST, code, invalid.to_string())
    }
}

impl From<ServiceError> for ApiError {
    /// Logs the details and answers without them: no internals leak to clients.
    fn from(error: ServiceError) -> Self {
        tracing::error!(error = %error, "request failed");
        match error {
            ServiceError::Store(
                StoreError::Unavailable(_) | StoreError::Lost(_) | StoreError::Busy(_),
            )
            | ServiceError::NoNodeReachable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable; try again shortly",
            ),
            ServiceError::Compute(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "calculator_unavailable",
                "no calculator could answer within its time budget; try again",
            ),
            _ => Self::internal(),
        }
    }
}
