//! moto enforcing IAM: each function's calls signed by a user that holds exactly the
//! function's policy statements from template.yaml (see `tests/iam/users.py`).

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{Credentials, Region};
use primescaler_dynamo::{Client, connect};
use primescaler_policy_check::users_py;

use crate::{Emulator, EmulatorKind, free_port};

/// The unsigned calls moto allows before it checks every call: `users.py` makes them
/// (an admin user, its policy, its keys).
const UNSIGNED_CALLS: &str = "3";

/// A moto server that checks every call against the caller's IAM policy, with a user
/// per function of template.yaml.
pub struct IamEmulator {
    /// The server.
    pub emulator: Emulator,
    /// Each user's keys (access key id, secret), by name: `admin`, and each function's
    /// logical id (`ApiFunction`, `UpkeepFunction`, `UiFunction`).
    pub keys: HashMap<String, (String, String)>,
}

impl IamEmulator {
    /// Starts moto with IAM enforced on a free port, and creates the users.
    pub async fn start() -> Self {
        let port = free_port();
        let emulator = Emulator::start_process_with(
            EmulatorKind::Moto,
            port,
            &[("INITIAL_NO_AUTH_ACTION_COUNT", UNSIGNED_CALLS)],
        );
        // Wait for the port only: every call moto answers counts against UNSIGNED_CALLS.
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not listen within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let keys: HashMap<String, (String, String)> =
            serde_json::from_slice(&users_py(&[emulator.endpoint()]))
                .expect("users.py prints JSON");
        Self { emulator, keys }
    }

    /// The keys of `user`.
    ///
    /// # Panics
    /// When template.yaml has no such function.
    pub fn keys(&self, user: &str) -> &(String, String) {
        self.keys
            .get(user)
            .unwrap_or_else(|| panic!("no IAM user {user}"))
    }

    /// A client for `region` signed as `user`.
    pub async fn client_as(&self, user: &str, region: &str) -> Client {
        connect(
            &self
                .emulator
                .settings(region)
                .with_emulator_keys(Some(self.keys(user))),
        )
        .await
    }

    /// A Secrets Manager client signed as `user`.
    pub async fn secrets_client_as(&self, user: &str) -> aws_sdk_secretsmanager::Client {
        let (key, secret) = self.keys(user);
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.emulator.endpoint())
            .credentials_provider(Credentials::new(key, secret, None, None, "iam-test"))
            .load()
            .await;
        aws_sdk_secretsmanager::Client::new(&config)
    }
}
