//! `cargo xtask test`: every check the project has, in the order that fails
//! fastest. CI runs exactly this (see `.ci/run`).
//!
//! Third-party tools are installed at the versions pinned in `.ci/` into
//! `target/ci-tools`, and reinstalled only when a pin changes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{contract, regen};

/// Runs every check; fails on the first that fails.
pub fn test(root: &Path) -> Result<()> {
    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    step("cargo fmt --check", || {
        run(Command::new(&cargo)
            .args(["fmt", "--all", "--check"])
            .current_dir(root))
    })?;
    step("cargo xtask regen --check", || {
        let stale = regen::check(root)?;
        for file in &stale {
            eprintln!("{file}");
        }
        if stale.is_empty() {
            Ok(())
        } else {
            bail!("generated files are stale")
        }
    })?;

    let tools = Tools::install(root)?;
    let specs = ["openapi/copper.yaml", "openapi/copper.json"];
    step("openapi-spec-validator", || {
        run(Command::new(tools.python_bin("openapi-spec-validator"))
            .args(specs)
            .current_dir(root))
    })?;
    step("spectral lint (spectral:oas, failing on warnings)", || {
        run(Command::new(tools.node_bin("spectral"))
            .args([
                "lint",
                "--ruleset",
                ".ci/.spectral.yaml",
                "--fail-severity",
                "warn",
            ])
            .args(specs)
            .current_dir(root))
    })?;

    step(
        "TypeScript: openapi-typescript, then tsc --strict on a usage file",
        || contract::typescript(root, &tools),
    )?;
    step(
        "Python: openapi-python-client, then mypy --strict on a usage file",
        || contract::python(root, &tools),
    )?;
    step("Java: openapi-generator takes the spec", || {
        contract::java(root, &tools)
    })?;

    step("cargo clippy --all-targets -- -D warnings", || {
        run(Command::new(&cargo)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(root))
    })?;
    step("cargo doc", || {
        run(Command::new(&cargo)
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(root))
    })?;
    step("cargo test --workspace", || {
        run(Command::new(&cargo)
            .args(["test", "--workspace"])
            // Snapshots are compared, never written, here.
            .env("INSTA_UPDATE", "no")
            .current_dir(root))
    })?;
    step("our client against Prism's mock of the spec", || {
        contract::prism(root, &tools, &cargo)
    })?;
    step("schemathesis against the sandbox", || {
        contract::schemathesis(root, &tools, &cargo)
    })?;
    step(
        "cargo package --workspace (each crate builds from its tarball)",
        || {
            forget_packaged_sources(root)?;
            run(Command::new(&cargo)
                .args(["package", "--workspace", "--allow-dirty"])
                .current_dir(root))
        },
    )?;
    step("a consumer crate outside the workspace builds", || {
        // The consumer starts from the workspace's lock file, so that it
        // builds with the versions every other check used.
        std::fs::copy(
            root.join("Cargo.lock"),
            root.join("examples/consumer/Cargo.lock"),
        )?;
        run(Command::new(&cargo)
            .args(["run", "--manifest-path", "examples/consumer/Cargo.toml"])
            .env("CARGO_TARGET_DIR", root.join("target"))
            .current_dir(root))
    })?;

    println!("\nall checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Removes earlier extractions of this workspace's packages from cargo's
/// source cache.
///
/// `cargo package --workspace` verifies each crate against a temporary
/// registry of the others, and cargo extracts those into
/// `$CARGO_HOME/registry/src/<registry>/` once: on the next run, the tarball
/// of the same version is not extracted again, and the verification would
/// build the sources of the earlier run. Only the temporary registry's
/// directories are touched; crates.io's are left alone.
fn forget_packaged_sources(root: &Path) -> Result<()> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(());
    };
    let packages = workspace_packages(root)?;
    for registry in registries.flatten() {
        if registry
            .file_name()
            .to_string_lossy()
            .starts_with("index.crates.io")
        {
            continue;
        }
        for source in std::fs::read_dir(registry.path())?.flatten() {
            let name = source.file_name().to_string_lossy().into_owned();
            if packages.iter().any(|p| name.starts_with(&format!("{p}-"))) {
                std::fs::remove_dir_all(source.path())?;
            }
        }
    }
    Ok(())
}

/// The names of the workspace's publishable packages.
fn workspace_packages(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for dir in std::fs::read_dir(root)?.flatten() {
        let Ok(manifest) = std::fs::read_to_string(dir.path().join("Cargo.toml")) else {
            continue;
        };
        if let Some(name) = manifest
            .lines()
            .find_map(|line| line.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            && name.starts_with("copper-bulk")
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n==> {name}");
    let started = Instant::now();
    f().with_context(|| format!("{name} failed"))?;
    println!("<== {name}: ok in {:.1?}", started.elapsed());
    Ok(())
}

pub(crate) fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} exited with {status}", command.get_program());
    }
    Ok(())
}

/// The pinned third-party tools, installed under `target/ci-tools`.
pub(crate) struct Tools {
    dir: PathBuf,
}

impl Tools {
    pub(crate) fn install(root: &Path) -> Result<Self> {
        let tools = Tools {
            dir: root.join("target/ci-tools"),
        };
        step("install pinned npm tools (.ci/package-lock.json)", || {
            let node = tools.dir.join("node");
            let lock = std::fs::read(root.join(".ci/package-lock.json"))?;
            if up_to_date(&node, &lock) {
                println!("already installed");
                return Ok(());
            }
            std::fs::create_dir_all(&node)?;
            for file in ["package.json", "package-lock.json"] {
                std::fs::copy(root.join(".ci").join(file), node.join(file))?;
            }
            run(Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
                .current_dir(&node))?;
            stamp(&node, &lock)
        })?;
        step("install pinned PyPI tools (.ci/requirements.txt)", || {
            let venv = tools.dir.join("py");
            let requirements = root.join(".ci/requirements.txt");
            let pins = std::fs::read(&requirements)?;
            if up_to_date(&venv, &pins) {
                println!("already installed");
                return Ok(());
            }
            run(Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg("--clear")
                .arg(&venv))?;
            run(Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "-r"])
                .arg(&requirements))?;
            stamp(&venv, &pins)
        })?;
        Ok(tools)
    }

    pub(crate) fn node_bin(&self, name: &str) -> PathBuf {
        self.dir.join("node/node_modules/.bin").join(name)
    }

    pub(crate) fn python_bin(&self, name: &str) -> PathBuf {
        self.dir.join("py/bin").join(name)
    }
}

const STAMP: &str = ".installed-from";

fn up_to_date(dir: &Path, pins: &[u8]) -> bool {
    std::fs::read(dir.join(STAMP)).is_ok_and(|installed| installed == pins)
}

fn stamp(dir: &Path, pins: &[u8]) -> Result<()> {
    std::fs::write(dir.join(STAMP), pins).context("cannot record the installed pins")
}
