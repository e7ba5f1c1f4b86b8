//! `cargo xtask kill-test`: the tool killed with SIGKILL at many points of
//! a run, chosen by request count, then resumed; each run checks against
//! the sandbox that every record was applied exactly once and that the
//! output is complete and in order. The normal test suite tries a handful
//! of these points.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// The kill points tried when none are asked for.
pub const DEFAULT_POINTS: usize = 50;

/// Runs the long kill tests of the tool, at `points` kill points each.
pub fn run(root: &Path, points: usize) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "-p", "copper-bulk-cli", "--test", "resume", "--"])
        .args(["--ignored", "--exact", "--test-threads", "1"])
        .args([
            "updates_killed_at_many_points",
            "creates_killed_at_many_points",
        ])
        .env("KILL_POINTS", points.to_string())
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!(
            "a resumed run applied a record other than exactly once, or left its output incomplete"
        );
    }
    Ok(())
}
