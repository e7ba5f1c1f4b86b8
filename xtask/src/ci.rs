//! `cargo xtask test`: every check the project has, in the order that fails
//! fastest. CI runs exactly this (see `.ci/run`).
//!
//! Third-party tools are installed at the versions pinned in `.ci/` into
//! `target/ci-tools`, and reinstalled only when a pin changes.
//!
//! The Rust code is built as few times as cargo allows: clippy checks it,
//! `cargo doc` documents it, and one `cargo test --workspace` build makes
//! every binary that a later step runs (the tests, the ignored contract
//! tests against Prism's mock and through its proxy, and the tool that
//! serves the sandbox to schemathesis). A step that asked cargo for one
//! package alone (`-p`) would resolve that package's features alone and
//! build its dependency tree a second time; only `cargo package` does so on
//! purpose, to check that each crate builds from its tarball on its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{contract, regen};

/// Runs every check; fails on the first that fails. Prints how long each
/// step took at the end, whether or not they all passed.
pub fn test(root: &Path) -> Result<()> {
    let mut steps = Steps::default();
    let result = all_checks(root, &mut steps);
    println!("\n{}", steps.table());
    result
}

fn all_checks(root: &Path, steps: &mut Steps) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = target_dir(root);

    steps.run("cargo fmt --check", || {
        run(Command::new(&cargo)
            .args(["fmt", "--all", "--check"])
            .current_dir(root))
    })?;
    steps.run("cargo xtask regen --check", || {
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

    // Installing the tools waits mostly on the network, so clippy compiles
    // meanwhile; its output is kept in a file and shown at its own step.
    std::fs::create_dir_all(target.join("ci"))?;
    let clippy = Background::start(
        Command::new(&cargo)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(root),
        &target.join("ci/clippy.log"),
    )?;

    let tools = Tools::install_timed(root, steps)?;
    steps.run(
        "redis-server, for the shared rate limiter's tests",
        ensure_redis_server,
    )?;
    let specs = ["openapi/copper.yaml", "openapi/copper.json"];
    steps.run("openapi-spec-validator", || {
        run(Command::new(tools.python_bin("openapi-spec-validator"))
            .args(specs)
            .current_dir(root))
    })?;
    steps.run("spectral lint (spectral:oas, failing on warnings)", || {
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

    steps.run(
        "TypeScript: openapi-typescript, then tsc --strict on a usage file",
        || contract::typescript(root, &tools),
    )?;
    steps.run(
        "Python: openapi-python-client, then mypy --strict on a usage file",
        || contract::python(root, &tools),
    )?;
    steps.run("Java: openapi-generator takes the spec", || {
        contract::java(root, &tools)
    })?;

    steps.run(
        "cargo clippy --all-targets -- -D warnings (the rest of its time)",
        || clippy.finish(),
    )?;
    steps.run("cargo doc", || {
        run(Command::new(&cargo)
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(root))
    })?;
    let built = steps.run(
        "cargo test --workspace --no-run (the one test build)",
        || build_tests(root, &cargo),
    )?;
    let references = target.join("ci/snapshot-references.txt");
    steps.run("cargo test --workspace", || {
        let _ = std::fs::remove_file(&references);
        run(Command::new(&cargo)
            .args(["test", "--workspace"])
            // Snapshots are compared, never written, here.
            .env("INSTA_UPDATE", "no")
            // insta appends the path of every snapshot a test compared to
            // this file, as it does for `cargo insta test --unreferenced`.
            .env("INSTA_SNAPSHOT_REFERENCES_FILE", &references)
            .current_dir(root))
    })?;
    steps.run("no snapshot file that no test compared", || {
        let read = std::fs::read_to_string(&references).unwrap_or_default();
        let orphans = unreferenced_snapshots(root, &read)?;
        if orphans.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = orphans.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "no test compares these snapshots; delete them or the test that lost them:\n{}",
            list.join("\n")
        )
    })?;
    steps.run("our client against Prism's mock of the spec", || {
        contract::prism(root, &tools, &built.it)
    })?;
    steps.run("real recorded Copper answers through Prism's proxy", || {
        contract::prism_proxy(root, &tools, &built.it)
    })?;
    steps.run("schemathesis against the sandbox", || {
        contract::schemathesis(root, &tools, &built.tool)
    })?;
    steps.run(
        "cargo package --workspace (each crate builds from its tarball)",
        || {
            // The verification builds each crate from its tarball alone,
            // with only the features it asks for itself: the one check that
            // a crate does not lean on a feature a sibling turns on, since
            // every other step builds the workspace as a whole. The consumer
            // below cannot stand in for it (it builds three crates together,
            // from their directories), so `--no-verify` would check less.
            forget_packaged_sources(root)?;
            run(Command::new(&cargo)
                .args(["package", "--workspace", "--allow-dirty"])
                .current_dir(root))
        },
    )?;
    steps.run("a consumer crate outside the workspace builds", || {
        // The consumer starts from the workspace's lock file, so that it
        // builds with the versions every other check used, into the same
        // target directory, so that it reuses what `cargo package` built
        // with the same features.
        std::fs::copy(
            root.join("Cargo.lock"),
            root.join("examples/consumer/Cargo.lock"),
        )?;
        run(Command::new(&cargo)
            .args(["run", "--manifest-path", "examples/consumer/Cargo.toml"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(root))
    })?;
    Ok(())
}

/// Makes sure `redis-server` is on the PATH, which the tests of the rate
/// limiter shared through Redis start on 127.0.0.1: when it is missing,
/// installs Debian's `redis-server` package (as root, or through `sudo -n`),
/// updating the package lists first if the install cannot find it.
pub(crate) fn ensure_redis_server() -> Result<()> {
    let found = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if found("redis-server") {
        return Ok(());
    }
    if !found("apt-get") {
        bail!(
            "redis-server is not on the PATH and apt-get is not here to install it: install Redis (7 or later) and run again"
        );
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    let install = [
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "redis-server",
    ];
    if apt(&install).is_err() {
        apt(&["update", "-q"])?;
        apt(&install)?;
    }
    if !found("redis-server") {
        bail!(
            "Debian's redis-server package was installed, but redis-server is still not on the PATH"
        );
    }
    Ok(())
}

/// A command running while other steps run, its output kept in a file; it
/// is stopped if dropped before it finished.
struct Background {
    child: std::process::Child,
    log: PathBuf,
    program: String,
}

impl Background {
    fn start(command: &mut Command, log: &Path) -> Result<Background> {
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot write {}", log.display()))?;
        let child = command
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {:?}", command.get_program()))?;
        Ok(Background {
            child,
            log: log.to_owned(),
            program: command.get_program().to_string_lossy().into_owned(),
        })
    }

    /// Waits for the command, prints its output, and fails if it failed.
    fn finish(mut self) -> Result<()> {
        let status = self.child.wait()?;
        print!("{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        if !status.success() {
            bail!("{} exited with {status}", self.program);
        }
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the one test build made that later steps run.
struct Built {
    /// The `copper-bulk` tool, which serves the sandbox.
    tool: PathBuf,
    /// The integration tests' binary, which holds the contract tests run
    /// against Prism's mock and the recorded answers replayed through its
    /// proxy.
    it: PathBuf,
}

/// Builds every test of the workspace, and with them the `copper-bulk`
/// tool (its integration tests run it), without running them.
///
/// The tool is the one built with the tests' features (tokio's test
/// utilities among them), not a second build of it with its own: the
/// sandbox behaves the same either way, and a second build would compile
/// most of the dependency tree again.
fn build_tests(root: &Path, cargo: &str) -> Result<Built> {
    let output = Command::new(cargo)
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .current_dir(root)
        .output()
        .with_context(|| format!("cannot start {cargo}"))?;
    if !output.status.success() {
        bail!("{cargo} test --no-run exited with {}", output.status);
    }
    let stdout = String::from_utf8(output.stdout).context("cargo printed no UTF-8")?;
    let tool = executable(&stdout, "bin", "copper-bulk", false)
        .context("the test build made no copper-bulk executable")?;
    let it = executable(&stdout, "test", "it", true)
        .context("the test build made no integration test binary `it`")?;
    Ok(Built { tool, it })
}

/// The executable of the target `name` of `kind`, built as a test harness
/// or not (`test`), that cargo reported in its JSON messages (one a line).
fn executable(messages: &str, kind: &str, name: &str, test: bool) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == name)
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
        })
        .filter(|message| message["profile"]["test"] == test)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// The `.snap` files under `root` (outside `target`) that are not listed in
/// `references`, insta's list of the snapshot files the tests compared, one
/// path a line.
///
/// A snapshot whose test was renamed or removed would otherwise stay in the
/// repository and be read by reviewers as if something still checked it.
pub fn unreferenced_snapshots(root: &Path, references: &str) -> Result<Vec<PathBuf>> {
    let referenced: BTreeSet<PathBuf> = references
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| std::fs::canonicalize(line).unwrap_or_else(|_| PathBuf::from(line)))
        .collect();
    let mut found = Vec::new();
    snapshot_files(root, &mut found)?;
    let mut orphans = Vec::new();
    for file in found {
        if !referenced.contains(&std::fs::canonicalize(&file)?) {
            orphans.push(file.strip_prefix(root).unwrap_or(&file).to_owned());
        }
    }
    orphans.sort();
    Ok(orphans)
}

/// Adds every `.snap` file under `dir` to `found`, leaving out build output,
/// installed tools and version control.
fn snapshot_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if entry.file_type()?.is_dir() {
            if !matches!(
                name.to_str(),
                Some("target" | "node_modules" | ".git" | ".venv")
            ) {
                snapshot_files(&path, found)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "snap") {
            found.push(path);
        }
    }
    Ok(())
}

/// The target directory cargo builds into: `CARGO_TARGET_DIR` when set.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
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

/// The steps run so far and how long each took.
#[derive(Debug, Default)]
struct Steps {
    done: Vec<(String, Duration, bool)>,
}

impl Steps {
    /// Runs one step, announcing it and recording its time whether it
    /// passes or fails.
    fn run<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = f().with_context(|| format!("{name} failed"));
        let took = started.elapsed();
        self.done.push((name.to_owned(), took, result.is_ok()));
        if result.is_ok() {
            println!("<== {name}: ok in {took:.1?}");
        }
        result
    }

    /// Each step's time, in the order they ran, and the total.
    fn table(&self) -> String {
        let width = self
            .done
            .iter()
            .map(|(name, _, _)| name.len())
            .max()
            .unwrap_or(0);
        let mut table = format!("{:width$}  {:>8}\n", "step", "seconds");
        for (name, took, ok) in &self.done {
            let mark = if *ok { "" } else { "  FAILED" };
            table.push_str(&format!(
                "{name:width$}  {:>8.1}{mark}\n",
                took.as_secs_f64()
            ));
        }
        let total: Duration = self.done.iter().map(|(_, took, _)| *took).sum();
        table.push_str(&format!("{:width$}  {:>8.1}", "total", total.as_secs_f64()));
        table
    }
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
        Tools::install_timed(root, &mut Steps::default())
    }

    /// Installs the tools as two steps of `steps`.
    fn install_timed(root: &Path, steps: &mut Steps) -> Result<Self> {
        let tools = Tools {
            dir: root.join("target/ci-tools"),
        };
        steps.run("install pinned npm tools (.ci/package-lock.json)", || {
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
        steps.run("install pinned PyPI tools (.ci/requirements.txt)", || {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with two snapshots beside their tests, one under build
    /// output; returns it and the path of each snapshot.
    fn workspace_with_snapshots() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let it = root.path().join("tests/it/snapshots");
        let cli = root.path().join("cli/tests/snapshots");
        let built = root.path().join("target/package/x/tests/snapshots");
        for dir in [&it, &cli, &built] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let kept = it.join("it__bodies__kept.snap");
        let other = cli.join("cli__help.snap");
        for file in [&kept, &other, &built.join("copied.snap")] {
            std::fs::write(file, "---\nsource: x\n---\n1\n").unwrap();
        }
        std::fs::write(it.join("it__bodies__kept.snap.new"), "pending").unwrap();
        (root, kept, other)
    }

    #[test]
    fn every_snapshot_compared_passes() {
        let (root, kept, other) = workspace_with_snapshots();
        let references = format!(
            "{}\n{}\n{}\n",
            kept.display(),
            other.display(),
            kept.display()
        );
        assert_eq!(
            unreferenced_snapshots(root.path(), &references).unwrap(),
            Vec::<PathBuf>::new()
        );
    }

    #[test]
    fn an_orphan_snapshot_is_named() {
        let (root, kept, _) = workspace_with_snapshots();
        let orphans =
            unreferenced_snapshots(root.path(), &format!("{}\n", kept.display())).unwrap();
        assert_eq!(
            orphans,
            [PathBuf::from("cli/tests/snapshots/cli__help.snap")]
        );
        let orphans = unreferenced_snapshots(root.path(), "").unwrap();
        assert_eq!(orphans.len(), 2, "{orphans:?}");
    }

    #[test]
    fn the_tool_is_found_among_cargo_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"copper-bulk","kind":["bin"]},"profile":{"test":true},"executable":"/t/deps/copper_bulk-1"}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"cli","kind":["test"]},"profile":{"test":true},"executable":"/t/deps/cli-2"}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"copper-bulk","kind":["bin"]},"profile":{"test":false},"executable":"/t/copper-bulk"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executable(&messages, "bin", "copper-bulk", false),
            Some(PathBuf::from("/t/copper-bulk"))
        );
        assert_eq!(
            executable(&messages, "test", "cli", true),
            Some(PathBuf::from("/t/deps/cli-2"))
        );
        assert_eq!(executable(&messages, "bin", "other", false), None);
        assert_eq!(executable(&messages, "test", "cli", false), None);
    }

    #[test]
    fn a_background_command_fails_its_step_when_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let ok = Background::start(Command::new("sh").args(["-c", "echo fine"]), &log).unwrap();
        ok.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "fine\n");
        let failing = Background::start(
            Command::new("sh").args(["-c", "echo broken >&2; exit 3"]),
            &log,
        )
        .unwrap();
        let error = failing.finish().unwrap_err().to_string();
        assert!(error.contains("exit status: 3"), "{error}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "broken\n");
    }

    #[test]
    fn the_table_has_every_step_and_the_total() {
        let mut steps = Steps::default();
        steps.run("first", || Ok(())).unwrap();
        steps
            .run("a longer second", || -> Result<()> { bail!("broken") })
            .unwrap_err();
        let table = steps.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[1].starts_with("first ") && !lines[1].contains("FAILED"));
        assert!(lines[2].starts_with("a longer second ") && lines[2].ends_with("FAILED"));
        assert!(lines[3].starts_with("total "));
    }
}
