//! The spec as a contract, checked with tools nobody on this team wrote:
//! other languages' generators, Prism against our client and against real
//! recorded Copper answers, schemathesis against our sandbox.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::ci::{Tools, run};

const SPEC: &str = "openapi/copper.yaml";

/// openapi-typescript generates the types; `tsc --strict` checks a usage
/// file that narrows the success-or-failure item and expects the types to
/// refuse a wrong category and `success: true` on a failure.
pub(crate) fn typescript(root: &Path, tools: &Tools) -> Result<()> {
    let out = root.join("target/contract/typescript");
    std::fs::create_dir_all(&out)?;
    run(Command::new(tools.node_bin("openapi-typescript"))
        .arg(SPEC)
        .arg("--output")
        .arg(out.join("schema.d.ts"))
        .current_dir(root))?;
    run(Command::new(tools.node_bin("tsc"))
        .args(["--project", "tests/contract/typescript/tsconfig.json"])
        .current_dir(root))
}

/// openapi-python-client generates a client; `mypy --strict` checks a usage
/// file that narrows the union the same way.
pub(crate) fn python(root: &Path, tools: &Tools) -> Result<()> {
    let out = python_client(root, tools)?;
    run(Command::new(tools.python_bin("mypy"))
        .args(["--strict", "--cache-dir"])
        .arg(root.join("target/contract/mypy-cache"))
        .arg("tests/contract/python/use.py")
        .env("MYPYPATH", &out)
        .current_dir(root))
}

/// Generates the Python client into `target/contract/python`; returns
/// that directory (the one to put on `PYTHONPATH`).
pub(crate) fn python_client(root: &Path, tools: &Tools) -> Result<std::path::PathBuf> {
    let out = root.join("target/contract/python");
    run(Command::new(tools.python_bin("openapi-python-client"))
        .args([
            "generate",
            "--path",
            SPEC,
            "--overwrite",
            "--fail-on-warning",
        ])
        .args(["--config", "tests/contract/python/config.yml"])
        .arg("--output-path")
        .arg(&out)
        .current_dir(root))?;
    Ok(out)
}

/// openapi-generator makes a Java client. It cannot be compiled here (its
/// dependencies live on Maven Central), so this checks that the generator
/// takes the spec and makes the success-or-failure types and the search
/// requests.
pub(crate) fn java(root: &Path, tools: &Tools) -> Result<()> {
    let out = root.join("target/contract/java");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    run(Command::new(tools.python_bin("openapi-generator-cli"))
        .args(["generate", "-g", "java", "-i", SPEC])
        .args([
            "--additional-properties",
            "library=native,hideGenerationTimestamp=true",
        ])
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::null())
        .current_dir(root))?;
    let models = out.join("src/main/java/org/openapitools/client/model");
    for model in [
        "PeopleBulkUpdateItem",
        "PeopleBulkCreateItem",
        "Person",
        "BulkUpdateFailure",
        "PeopleSearchRequest",
        "LeadsSearchRequest",
        "ActivitySearchParent",
    ] {
        let file = models.join(format!("{model}.java"));
        if !file.exists() {
            bail!("openapi-generator made no {}", file.display());
        }
    }
    Ok(())
}

/// Runs our raw client and facade against a Prism mock of the spec (the
/// ignored `contract` tests), then fails if Prism logged a request that
/// broke the spec.
pub(crate) fn prism(root: &Path, tools: &Tools, it: &Path) -> Result<()> {
    let port = free_port()?;
    let (server, log) = start_prism(root, tools, &["mock", SPEC], port, "prism.log")?;
    // The binary the one test build made is run directly: asking cargo for
    // one test target resolves features differently from the whole
    // workspace's test build, and compiled some 80 crates again. It runs
    // in its package's directory, as `cargo test` would run it.
    let tests = run_ignored_tests(
        Command::new(it)
            .args(["--ignored", "contract::"])
            .env("COPPER_PRISM_URL", format!("http://127.0.0.1:{port}"))
            .current_dir(root.join("tests")),
    );
    drop(server);
    tests?;
    let logged = std::fs::read_to_string(&log)?;
    let violations: Vec<&str> = logged
        .lines()
        .filter(|line| {
            line.contains("Violation") || line.contains("did not pass the validation rules")
        })
        .collect();
    if !violations.is_empty() {
        bail!(
            "Prism found requests that break the spec:\n{}",
            violations.join("\n")
        );
    }
    Ok(())
}

/// Replays the real Copper answers in `tests/fixtures/real` through Prism's
/// proxy, which checks each answer it forwards against the spec (the
/// ignored `real_payloads` tests).
///
/// The test serves each recorded answer from the upstream address this
/// picks, sends a request through Prism, and fails on any violation Prism
/// reports in its `sl-violations` header; it first replays a broken answer
/// and fails unless Prism catches it. So Prism's log, kept in
/// `target/contract/prism-proxy.log`, is not searched here: it holds that
/// deliberate violation.
pub(crate) fn prism_proxy(root: &Path, tools: &Tools, it: &Path) -> Result<()> {
    let [port, upstream] = free_ports()?;
    let upstream_url = format!("http://127.0.0.1:{upstream}");
    let (server, _) = start_prism(
        root,
        tools,
        &["proxy", SPEC, &upstream_url],
        port,
        "prism-proxy.log",
    )?;
    let tests = run_ignored_tests(
        Command::new(it)
            .args(["--ignored", "real_payloads::"])
            .env("COPPER_PRISM_PROXY_URL", format!("http://127.0.0.1:{port}"))
            .env("COPPER_REPLAY_ADDR", format!("127.0.0.1:{upstream}"))
            .current_dir(root.join("tests")),
    );
    drop(server);
    tests
}

/// Runs a filtered run of the test binary, showing its output, and fails
/// when it fails or when the filter matched no test: a test renamed or
/// moved would otherwise leave the step passing without checking anything.
fn run_ignored_tests(command: &mut Command) -> Result<()> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        bail!("{:?} exited with {}", command.get_program(), output.status);
    }
    if !ran_some_test(&stdout) {
        bail!(
            "the filter matched no test: {:?}",
            command.get_args().collect::<Vec<_>>()
        );
    }
    Ok(())
}

/// Whether libtest's summary says at least one test passed.
fn ran_some_test(stdout: &str) -> bool {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<u32>().ok())
        .any(|passed| passed > 0)
}

/// Runs schemathesis against the sandbox for every operation of the spec.
///
/// One check is left out, `negative_data_rejection`: it expects a 4xx for
/// any request that breaks the schema, but Copper answers a well-formed
/// request whose records break it with 200 and a failure item per record
/// (its documentation: every request with well-formed JSON gets 200), and
/// the sandbox does the same. Requests broken as a whole (no list, too many
/// records, a bad query flag) do get 422, which the sandbox's own tests
/// check.
///
/// The budget is chosen, not a default: schemathesis's coverage phase sends
/// about 2,500 deterministic cases whatever the budget (each schema's
/// boundaries, missing required fields, wrong types, nulls), and
/// `--max-examples` sets only how many random cases its fuzzing phase adds
/// per operation. Measured on two busy cores, 50 (about 400 fuzzed
/// requests) took some 75 s of CPU for the whole step and 200 over three
/// times that, as Hypothesis's later examples grow larger and slower to
/// make; neither found anything the other missed. The seed is fixed so
/// that a failure can be rerun exactly.
pub(crate) fn schemathesis(root: &Path, tools: &Tools, copper_bulk: &Path) -> Result<()> {
    let port = free_port()?;
    let server = Server::start(
        Command::new(copper_bulk)
            .args(["sandbox", "--no-rate-limit", "--port", &port.to_string()])
            .stdout(Stdio::null()),
        port,
    )?;
    let result = run(Command::new(tools.python_bin("schemathesis"))
        .args(["run", SPEC, "--url", &format!("http://127.0.0.1:{port}")])
        .args(["-H", "X-PW-AccessToken: sandbox-token"])
        .args(["-H", "X-PW-Application: developer_api"])
        .args(["-H", "X-PW-UserEmail: sandbox@example.com"])
        .args(["--exclude-checks", "negative_data_rejection"])
        .args(["--max-examples", "50", "--seed", "20261129", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(root));
    drop(server);
    result
}

/// Starts Prism as `args` (its mode, then the spec and what follows it) on
/// `port`, logging to `target/contract/<log>`; returns the server and the
/// log's path.
fn start_prism(
    root: &Path,
    tools: &Tools,
    args: &[&str],
    port: u16,
    log: &str,
) -> Result<(Server, std::path::PathBuf)> {
    std::fs::create_dir_all(root.join("target/contract"))?;
    let log = root.join("target/contract").join(log);
    let server = Server::start(
        Command::new(tools.node_bin("prism"))
            .args(args)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::fs::File::create(&log)?)
            .stderr(Stdio::null())
            .current_dir(root),
        port,
    )?;
    Ok((server, log))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Two distinct free ports: both are held until both are known.
fn free_ports() -> Result<[u16; 2]> {
    let first = TcpListener::bind("127.0.0.1:0")?;
    let second = TcpListener::bind("127.0.0.1:0")?;
    Ok([first.local_addr()?.port(), second.local_addr()?.port()])
}

/// A server process, stopped when dropped.
struct Server(Child);

impl Server {
    /// Starts `command` and waits until it accepts connections on `port`.
    fn start(command: &mut Command, port: u16) -> Result<Server> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {:?}", command.get_program()))?;
        let mut server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.0.try_wait()? {
                bail!(
                    "{:?} exited with {status} before listening",
                    command.get_program()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{:?} did not listen on port {port} within a minute",
                    command.get_program()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::ran_some_test;

    #[test]
    fn a_run_counts_only_when_some_test_passed() {
        assert!(ran_some_test(
            "running 1 test\ntest a ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored\n"
        ));
        assert!(!ran_some_test(
            "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 180 filtered out\n"
        ));
        assert!(!ran_some_test(""));
    }
}
