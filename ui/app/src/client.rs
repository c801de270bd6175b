//! The page's calls to the API and to the grid endpoint (whose answer carries the node
//! panel's figures too), on the page's own origin.
//!
//! In the browser these go through `fetch`. The server render never calls them (they
//! run from event handlers and effects, which only run in the browser); there they
//! answer [`CallError::NotInBrowser`].

use crate::model::{ClearAnswer, GridSnapshot, PrimeAnswer};

/// Why a call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The API refused or failed: its HTTP status and its message.
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// The request did not get an answer that could be read.
    Network(String),
    /// Called outside a browser.
    NotInBrowser,
}

impl CallError {
    /// A message for the page.
    pub fn message(&self) -> String {
        match self {
            CallError::Api { status, message } => format!("{message} (HTTP {status})"),
            CallError::Network(text) => format!("no answer from the API: {text}"),
            CallError::NotInBrowser => "only the browser calls the API".into(),
        }
    }

    /// Whether the API asked for the reset token, or refused the one given.
    pub fn needs_token(&self) -> bool {
        matches!(
            self,
            CallError::Api {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// How long a grid poll may take before the page gives it up, in milliseconds.
pub const POLL_TIMEOUT_MS: u64 = 10_000;

/// The grid, unless it is still the version the page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GridPoll {
    /// Nothing changed since `version`.
    Unchanged,
    /// The grid changed.
    Changed(GridSnapshot),
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use crate::model::ErrorAnswer;
    use gloo_net::http::{Request, Response};
    use serde::de::DeserializeOwned;

    async fn read<T: DeserializeOwned>(response: Response) -> Result<T, CallError> {
        if response.ok() {
            return response
                .json::<T>()
                .await
                .map_err(|e| CallError::Network(e.to_string()));
        }
        let status = response.status();
        let message = match response.json::<ErrorAnswer>().await {
            Ok(answer) => answer.message,
            Err(_) => response.status_text(),
        };
        Err(CallError::Api { status, message })
    }

    fn network(error: gloo_net::Error) -> CallError {
        CallError::Network(error.to_string())
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// `GET /primes/{n}`.
    pub async fn get_prime(n: u64) -> Result<PrimeAnswer, CallError> {
        read(
            Request::get(&format!("/primes/{n}"))
                .send()
                .await
                .map_err(network)?,
        )
        .await
    }

    /// `DELETE /primes/{n}` with the reset token.
    pub async fn evict_prime(n: u64, token: &str) -> Result<(), CallError> {
        let response = Request::delete(&format!("/primes/{n}"))
            .header("Authorization", &bearer(token))
            .send()
            .await
            .map_err(network)?;
        read::<serde_json::Value>(response).await.map(|_| ())
    }

    /// `DELETE /cache` with the reset token.
    pub async fn clear_cache(token: &str) -> Result<ClearAnswer, CallError> {
        read(
            Request::delete("/cache")
                .header("Authorization", &bearer(token))
                .send()
                .await
                .map_err(network)?,
        )
        .await
    }

    /// `GET /grid`, conditional on the version the page holds; given up after
    /// [`super::POLL_TIMEOUT_MS`], so that a poll that never settles cannot stop the
    /// page's polling.
    pub async fn poll_grid(version: &str) -> Result<GridPoll, CallError> {
        let controller = web_sys::AbortController::new().ok();
        let signal = controller.as_ref().map(web_sys::AbortController::signal);
        let timer = controller.map(|controller| {
            leptos::prelude::set_timeout_with_handle(
                move || controller.abort(),
                std::time::Duration::from_millis(super::POLL_TIMEOUT_MS),
            )
        });
        let sent = Request::get("/grid")
            .header("If-None-Match", version)
            .cache(web_sys::RequestCache::NoStore)
            .abort_signal(signal.as_ref())
            .send()
            .await;
        if let Some(Ok(timer)) = timer {
            timer.clear();
        }
        let response = sent.map_err(network)?;
        if response.status() == 304 {
            return Ok(GridPoll::Unchanged);
        }
        read(response).await.map(GridPoll::Changed)
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::*;

    /// `GET /primes/{n}` (browser only).
    pub async fn get_prime(_n: u64) -> Result<PrimeAnswer, CallError> {
        Err(CallError::NotInBrowser)
    }

    /// `DELETE /primes/{n}` (browser only).
    pub async fn evict_prime(_n: u64, _token: &str) -> Result<(), CallError> {
        Err(CallError::NotInBrowser)
    }

    /// `DELETE /cache` (browser only).
    pub async fn clear_cache(_token: &str) -> Result<ClearAnswer, CallError> {
        Err(CallError::NotInBrowser)
    }

    /// `GET /grid` (browser only).
    pub async fn poll_grid(_version: &str) -> Result<GridPoll, CallError> {
        Err(CallError::NotInBrowser)
    }
}

pub use browser::{clear_cache, evict_prime, get_prime, poll_grid};
