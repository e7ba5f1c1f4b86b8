//! `cargo xtask <task>`: see `cargo xtask --help`.

mod fuzz;
mod kill;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{regen, workspace_root};

/// copper-bulk's development tasks.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Rewrite every checked-in file that derives from openapi/copper.yaml.
    Regen {
        /// Write nothing; fail and name each file that is stale.
        #[arg(long)]
        check: bool,
    },
    /// Run every check and test the project has (what CI runs).
    Test,
    /// Run a benchmark; BENCHMARKS.md records their figures.
    Bench {
        /// Which one.
        #[arg(value_enum)]
        what: xtask::bench::Bench,
    },
    /// Kill the tool with SIGKILL at many points of a run, resume it, and
    /// check that every record was applied exactly once.
    KillTest {
        /// Kill points tried, for updates and for creates each.
        #[arg(long, default_value_t = kill::DEFAULT_POINTS)]
        points: usize,
    },
    /// Fuzz the response decoders and the input readers with cargo-afl
    /// (AFL++), installing it if needed; fails when any input crashes.
    Fuzz {
        /// Seconds each target runs.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
        /// Targets to run (bulk_items, error_body, ndjson, csv); all by default.
        targets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Regen { check } => run_regen(check),
        Task::Test => xtask::ci::test(&workspace_root()).map(|()| ExitCode::SUCCESS),
        Task::Bench { what } => {
            xtask::bench::run(&workspace_root(), what).map(|()| ExitCode::SUCCESS)
        }
        Task::KillTest { points } => {
            kill::run(&workspace_root(), points).map(|()| ExitCode::SUCCESS)
        }
        Task::Fuzz { seconds, targets } => {
            fuzz::run(&workspace_root(), seconds, &targets).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_regen(check: bool) -> anyhow::Result<ExitCode> {
    let root = workspace_root();
    if check {
        let stale = regen::check(&root)?;
        for file in &stale {
            eprintln!("{file}");
        }
        if stale.is_empty() {
            println!("every file derived from {} is up to date", regen::SPEC);
            return Ok(ExitCode::SUCCESS);
        }
        return Ok(ExitCode::FAILURE);
    }
    let changed = regen::write(&root)?;
    if changed.is_empty() {
        println!(
            "every file derived from {} was already up to date",
            regen::SPEC
        );
    }
    for path in changed {
        println!("wrote {path}");
    }
    Ok(ExitCode::SUCCESS)
}
