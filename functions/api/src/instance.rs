//! The identity of one function instance, to show how serverless scales out.

use std::sync::atomic::{AtomicBool, Ordering};

/// One function instance: an id picked at start-up and whether it has served yet.
#[derive(Debug)]
pub struct Instance {
    id: String,
    served: AtomicBool,
}

impl Instance {
    /// A fresh instance with a random 12-hex-digit id.
    pub fn start() -> Self {
        Self {
            id: format!("{:012x}", fastrand::u64(..) >> 16),
            served: AtomicBool::new(false),
        }
    }

    /// This instance's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Marks an invocation; answers `true` for the instance's first (its cold start).
    pub fn begin_invocation(&self) -> bool {
        !self.served.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_invocation_is_cold() {
        let instance = Instance::start();
        assert!(instance.begin_invocation());
        assert!(!instance.begin_invocation());
        assert!(!instance.begin_invocation());
        assert_eq!(instance.id().len(), 12);
        assert_ne!(instance.id(), Instance::start().id());
    }
}
