//! `cargo xtask fuzz`: coverage-guided fuzzing of the response decoders and
//! the tool's input readers with cargo-afl (AFL++), on the stable toolchain.
//!
//! The targets live in `fuzz/`, a crate outside the workspace so that the
//! workspace builds without cargo-afl. Each target starts from a corpus of
//! the project's own fixtures and examples, runs for a fixed time, and is
//! judged from the `fuzzer_stats` file AFL++ writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Seconds each target runs unless `--seconds` says otherwise: on a 2-core
/// machine the four targets together pass 10,000,000 executions.
pub const DEFAULT_SECONDS: u64 = 600;

/// A fuzz target and where its first inputs come from.
struct Target {
    /// The binary's name in `fuzz/Cargo.toml`.
    name: &'static str,
    /// Seed files, as globs of one directory and one file-name suffix
    /// relative to the workspace root.
    seeds: &'static [(&'static str, &'static str)],
    /// Whether the target reads a record-type selector byte before the
    /// input (see `fuzz/src/lib.rs`): its seeds are written once per type.
    selector: bool,
}

const TARGETS: [Target; 4] = [
    Target {
        name: "bulk_items",
        seeds: &[
            ("tests/fixtures/responses/update", ".json"),
            ("tests/fixtures/responses/create", ".json"),
            ("tests/fixtures/responses/companies", ".json"),
            ("tests/fixtures/responses/leads", ".json"),
            ("tests/fixtures/responses/leads-create", ".json"),
            ("tests/fixtures/responses/opportunities", ".json"),
            ("tests/fixtures/responses/activities", ".json"),
            ("tests/fixtures/fuzz/bulk_items", ""),
        ],
        selector: false,
    },
    Target {
        name: "error_body",
        seeds: &[
            ("tests/fixtures/errors", ""),
            ("tests/fixtures/fuzz/error_body", ""),
        ],
        selector: false,
    },
    Target {
        name: "ndjson",
        seeds: &[("examples", ".ndjson"), ("tests/fixtures/fuzz/ndjson", "")],
        selector: true,
    },
    Target {
        name: "csv",
        seeds: &[("examples", ".csv"), ("tests/fixtures/fuzz/csv", "")],
        selector: true,
    },
];

/// How many record types the reader targets choose among.
const RECORD_TYPES: u8 = 8;

/// What one target's run came to.
struct Stats {
    executions: u64,
    seconds: u64,
    crashes: Vec<PathBuf>,
}

/// Installs or checks cargo-afl, builds the targets, runs each for
/// `seconds` (those named in `only`, or all), and prints a table. Fails
/// when any target crashed.
pub fn run(root: &Path, seconds: u64, only: &[String]) -> Result<()> {
    for name in only {
        if !TARGETS.iter().any(|t| t.name == name) {
            bail!("no fuzz target `{name}`; the targets are: {}", names());
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_cargo_afl(&cargo)?;
    let work = target_dir(root).join("fuzz");
    build(root, &cargo, &work)?;
    let mut rows = Vec::new();
    for target in TARGETS
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|name| name == t.name))
    {
        let seeds = seed(root, &work, target)?;
        let stats = fuzz(&cargo, &work, target, &seeds, seconds)?;
        rows.push((target.name, stats));
    }
    println!();
    println!("| target | seconds | executions | executions/s | crashes |");
    println!("|---|---|---|---|---|");
    let mut total = 0;
    for (name, stats) in &rows {
        total += stats.executions;
        println!(
            "| {name} | {} | {} | {} | {} |",
            stats.seconds,
            stats.executions,
            stats.executions / stats.seconds.max(1),
            stats.crashes.len()
        );
    }
    println!("| all | | {total} | | |");
    let crashes: Vec<&PathBuf> = rows.iter().flat_map(|(_, s)| &s.crashes).collect();
    if !crashes.is_empty() {
        for crash in &crashes {
            eprintln!("crash: {}", crash.display());
        }
        bail!(
            "{} crashing inputs: make each a regression test under tests/fixtures/fuzz/",
            crashes.len()
        );
    }
    Ok(())
}

fn names() -> String {
    TARGETS.map(|t| t.name).join(", ")
}

/// The workspace's target directory, where the targets, their corpora and
/// AFL++'s findings go.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Installs cargo-afl from crates.io when it is missing, then builds AFL++
/// for the current toolchain unless that was done before.
fn ensure_cargo_afl(cargo: &str) -> Result<()> {
    let installed = Command::new(cargo)
        .args(["afl", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        eprintln!("installing cargo-afl");
        let status = Command::new(cargo)
            .args(["install", "cargo-afl", "--locked"])
            .status()
            .context("cannot run cargo install")?;
        if !status.success() {
            bail!("`cargo install cargo-afl --locked` failed");
        }
    }
    let output = Command::new(cargo)
        .args(["afl", "config", "--build"])
        .output()
        .context("cannot run cargo afl config")?;
    // cargo-afl refuses to build AFL++ twice for one toolchain, and says so.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("already built") {
        bail!("`cargo afl config --build` failed:\n{stderr}");
    }
    Ok(())
}

/// Builds every target with AFL++'s instrumentation, in a target directory
/// of their own (the flags differ from an ordinary build's).
fn build(root: &Path, cargo: &str, work: &Path) -> Result<()> {
    let status = Command::new(cargo)
        .args(["afl", "build", "--release", "--manifest-path"])
        .arg(root.join("fuzz/Cargo.toml"))
        .env("CARGO_TARGET_DIR", work)
        .status()
        .context("cannot run cargo afl build")?;
    if !status.success() {
        bail!("`cargo afl build` of the fuzz targets failed");
    }
    Ok(())
}

/// Writes the first corpus of `target` and returns its directory.
fn seed(root: &Path, work: &Path, target: &Target) -> Result<PathBuf> {
    let dir = work.join("seeds").join(target.name);
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    fs::create_dir_all(&dir)?;
    let mut count = 0;
    for (from, suffix) in target.seeds {
        let Ok(entries) = fs::read_dir(root.join(from)) else {
            // The regression inputs of a target that never crashed.
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !path.is_file() || !name.ends_with(suffix) {
                continue;
            }
            let bytes = fs::read(&path)?;
            let selectors = if target.selector && !from.contains("fuzz") {
                (0..RECORD_TYPES).map(Some).collect()
            } else {
                vec![None]
            };
            for selector in selectors {
                let mut seed = Vec::with_capacity(bytes.len() + 1);
                seed.extend(selector);
                seed.extend(&bytes);
                count += 1;
                fs::write(dir.join(format!("{count:03}-{name}")), seed)?;
            }
        }
    }
    if count == 0 {
        bail!("no seeds for the fuzz target {}", target.name);
    }
    Ok(dir)
}

/// Runs AFL++ on `target` for `seconds`, and reads what it found.
fn fuzz(cargo: &str, work: &Path, target: &Target, seeds: &Path, seconds: u64) -> Result<Stats> {
    let out = work.join("out").join(target.name);
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    fs::create_dir_all(&out)?;
    let binary = work.join("release").join(target.name);
    eprintln!("fuzzing {} for {seconds} s", target.name);
    let log = fs::File::create(out.join("afl.log"))?;
    let status = Command::new(cargo)
        .args(["afl", "fuzz", "-i"])
        .arg(seeds)
        .arg("-o")
        .arg(&out)
        .args(["-V", &seconds.to_string(), "--"])
        .arg(&binary)
        // No screen to draw on; machines shared with other work (CI, a
        // laptop) have no core to spare for pinning nor a tuned governor.
        .env("AFL_NO_UI", "1")
        .env("AFL_NO_AFFINITY", "1")
        .env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot run cargo afl fuzz")?;
    let stats_file = out.join("default/fuzzer_stats");
    if !status.success() || !stats_file.exists() {
        bail!(
            "AFL++ failed on {}: see {}",
            target.name,
            out.join("afl.log").display()
        );
    }
    let stats = fs::read_to_string(&stats_file)
        .with_context(|| format!("cannot read {}", stats_file.display()))?;
    let field = |key: &str| -> Result<u64> {
        stats
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim() == key)
            .and_then(|(_, value)| value.trim().parse().ok())
            .with_context(|| format!("no {key} in {}", stats_file.display()))
    };
    let crashes = match fs::read_dir(out.join("default/crashes")) {
        Ok(entries) => entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|path| path.file_name().is_some_and(|n| n != "README.txt"))
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(Stats {
        executions: field("execs_done")?,
        seconds: field("run_time")?,
        crashes,
    })
}
