//! A function instance's cgroup v1 freezer: what Lambda does to an instance between
//! invocations.
//!
//! Lambda freezes an instance once its runtime asks for the next invocation, and thaws it
//! when one comes. Whatever the instance left running (a spawned probe, a timer, an open
//! connection's keep-alive) stops for as long as no request comes, minutes or hours, and
//! resumes where it was: its timers then fire late and its connections may have been
//! closed by the other side. The freezer controller stops every thread of every process
//! in a group at once, as Lambda's does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The state a group is in, as `freezer.state` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    /// Running.
    Thawed,
    /// Asked to freeze; some of its tasks may still run.
    Freezing,
    /// Every task of the group is stopped.
    Frozen,
}

/// One cgroup's freezer (`/sys/fs/cgroup/freezer/<group>`).
#[derive(Debug, Clone)]
pub struct Freezer {
    state: PathBuf,
}

impl Freezer {
    /// The freezer of the group at `dir`, which must exist.
    pub fn at(dir: &Path) -> io::Result<Self> {
        let state = dir.join("freezer.state");
        fs::metadata(&state)?;
        Ok(Self { state })
    }

    /// Stops every task of the group (they stop soon after this returns).
    pub fn freeze(&self) -> io::Result<()> {
        fs::write(&self.state, "FROZEN")
    }

    /// Lets every task of the group run again.
    pub fn thaw(&self) -> io::Result<()> {
        fs::write(&self.state, "THAWED")
    }

    /// The group's state now.
    pub fn state(&self) -> io::Result<FreezerState> {
        match fs::read_to_string(&self.state)?.trim() {
            "THAWED" => Ok(FreezerState::Thawed),
            "FREEZING" => Ok(FreezerState::Freezing),
            "FROZEN" => Ok(FreezerState::Frozen),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("freezer.state says {other:?}"),
            )),
        }
    }
}
