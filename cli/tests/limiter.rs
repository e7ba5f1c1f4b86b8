//! `--limiter`: tool processes sharing one account's rate limit through a
//! real Redis server started on 127.0.0.1, what happens when that server
//! is missing at the start or lost during a run, and the account a limit
//! is shared for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use copper_bulk_sandbox::{Sandbox, SandboxConfig};
use copper_bulk_tests::redis::{RedisServer, free_port};
use serde_json::{Value, json};

/// A sandbox with Copper's limits, on a runtime of its own.
struct Server {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let sandbox = runtime
            .block_on(Sandbox::start(
                SandboxConfig::new()
                    .with_seed(7, 200)
                    .with_applied_log(false),
            ))
            .unwrap();
        Server {
            sandbox,
            _runtime: runtime,
        }
    }

    /// The tool updating the records of `input` into `output`, pointed at
    /// the sandbox with its API key, at Copper's rate.
    fn tool(&self, input: &Path, output: &Path, extra: &[&str]) -> Command {
        let config = self.sandbox.config();
        let mut command = Command::new(env!("CARGO_BIN_EXE_copper-bulk"));
        command
            .env("COPPER_API_TOKEN", config.token())
            .env("COPPER_USER_EMAIL", config.user_email())
            .env_remove("COPPER_OAUTH_TOKEN")
            .env_remove("COPPER_BASE_URL")
            .env_remove("COPPER_BULK_LIMITER")
            .env_remove("COPPER_BULK_LIMITER_ACCOUNT")
            .args(["--base-url", self.sandbox.url(), "--quiet"])
            .args(["people", "update", "--input"])
            .arg(input)
            .arg("--output")
            .arg(output)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn refused(&self) -> usize {
        self.sandbox.stats().with_status(429)
    }
}

/// An input file of `records` updates of the seeded people, in `dir`.
fn input(dir: &Path, name: &str, records: usize) -> PathBuf {
    let path = dir.join(name);
    let lines: Vec<String> = (0..records)
        .map(|i| json!({"id": i % 200 + 1, "title": format!("{name} {i}")}).to_string())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The outcome of each line of an output file.
fn outcomes(output: &Path) -> Vec<String> {
    std::fs::read_to_string(output)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            line["outcome"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Two processes sharing the limit keep to it together, as each alone
/// would: at 2 bulk requests a second each (`--rate 2`), two alone send 4
/// a second to a sandbox that takes 3 and refuses the rest, which counts
/// the account's requests from every process; sharing one limit of 2 a
/// second, they are never refused.
#[test]
fn two_processes_sharing_the_limit_keep_to_the_accounts_rate_together() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |limiter: Option<&str>| {
        let server = Server::start();
        let mut extra = vec!["--rate", "2"];
        extra.extend(limiter.map_or(vec![], |url| vec!["--limiter", url]));
        let children: Vec<(Child, PathBuf)> = ["a", "b"]
            .iter()
            .map(|name| {
                let output = dir.path().join(format!("{name}.out"));
                let _ = std::fs::remove_file(&output);
                let _ = std::fs::remove_file(output.with_extension("out.journal"));
                let input = input(dir.path(), name, 150);
                (
                    server.tool(&input, &output, &extra).spawn().unwrap(),
                    output,
                )
            })
            .collect();
        for (child, output) in children {
            let ran = child.wait_with_output().unwrap();
            assert!(ran.status.success(), "{}", stderr(&ran));
            assert_eq!(outcomes(&output), vec!["updated"; 150]);
        }
        server.refused()
    };
    let shared = run(Some(&redis.url()));
    let alone = run(None);
    // Requests leave a shared schedule 500 ms apart, so a 429 needs four
    // of them to reach the sandbox within a second: delays of half a
    // second on the way, which even a loaded machine does not have.
    assert_eq!(shared, 0, "requests refused with the limit shared");
    assert!(alone > 0, "no request refused without the shared limit");
}

/// Redis lost in the middle of a run: no request goes out without the
/// shared limit (no storm of 429s), the tool says what happened and what
/// to do, every record has its line, and the same command with --resume
/// finishes the job once Redis is back.
#[test]
fn a_redis_lost_mid_run_stops_the_run_cleanly_and_resume_finishes_it() {
    let mut redis = RedisServer::start();
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), "in", 150);
    let output = dir.path().join("out.ndjson");
    let url = redis.url();
    let limiter = ["--limiter", url.as_str(), "--limiter-grace", "2"];
    let child = server.tool(&input, &output, &limiter).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.sandbox.stats().requests() < 3 {
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    redis.kill();
    let requests_when_killed = server.sandbox.stats().requests();
    let ran = child.wait_with_output().unwrap();
    let message = stderr(&ran);
    assert_eq!(ran.status.code(), Some(1), "{message}");
    assert!(
        message.contains("lost the shared rate limiter"),
        "{message}"
    );
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("--resume"), "{message}");
    let lines = outcomes(&output);
    assert_eq!(lines.len(), 15 * 10, "every record has its line");
    let not_applied = lines.iter().filter(|o| *o == "not_applied").count();
    assert!(not_applied > 0, "{lines:?}");
    assert!(
        lines.iter().all(|o| o == "updated" || o == "not_applied"),
        "{lines:?}"
    );
    // Only the requests already given their permits went out after the
    // server was lost: at most the six in flight.
    let sent_after = server.sandbox.stats().requests() - requests_when_killed;
    assert!(
        sent_after <= 6,
        "{sent_after} requests sent after Redis was lost"
    );
    assert_eq!(server.refused(), 0);

    redis.restart();
    let resumed = server
        .tool(&input, &output, &[&limiter[..], &["--resume"]].concat())
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(outcomes(&output), vec!["updated"; 150]);
}

/// A Redis server that cannot be reached at the start is a usage error:
/// exit status 2, a message naming the server (never its password), and
/// nothing written or sent.
#[test]
fn a_redis_unreachable_at_the_start_is_a_usage_error_and_nothing_is_sent() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), "in", 10);
    let output = dir.path().join("out.ndjson");
    let port = free_port();
    for url in [
        format!("redis://:hunter2@127.0.0.1:{port}/0"),
        "http://127.0.0.1:6379".to_owned(),
    ] {
        let ran = server
            .tool(&input, &output, &["--limiter", &url])
            .output()
            .unwrap();
        let message = stderr(&ran);
        assert_eq!(ran.status.code(), Some(2), "{url}: {message}");
        assert!(message.contains("--limiter"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!output.exists(), "{url}: an output was written");
        assert!(
            !dir.path().join("out.ndjson.journal").exists(),
            "{url}: a journal was written"
        );
    }
    // The environment names the server too.
    let ran = server
        .tool(&input, &output, &[])
        .env("COPPER_BULK_LIMITER", format!("redis://127.0.0.1:{port}/0"))
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(2), "{}", stderr(&ran));
    assert!(stderr(&ran).contains(&format!("127.0.0.1:{port}")));
    assert_eq!(server.sandbox.stats().requests(), 0);
}

/// An OAuth access token does not say whose account it is: sharing its
/// limit needs the account named, the same in every process.
#[test]
fn an_oauth_user_names_the_account_whose_limit_is_shared() {
    let redis = RedisServer::start();
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), "in", 10);
    let output = dir.path().join("out.ndjson");
    let oauth = |extra: &[&str]| {
        let mut command = server.tool(&input, &output, extra);
        command
            .env_remove("COPPER_API_TOKEN")
            .env_remove("COPPER_USER_EMAIL")
            .env("COPPER_OAUTH_TOKEN", SandboxConfig::OAUTH_TOKEN);
        command.output().unwrap()
    };
    let url = redis.url();
    let ran = oauth(&["--limiter", &url]);
    assert_eq!(ran.status.code(), Some(2), "{}", stderr(&ran));
    assert!(
        stderr(&ran).contains("--limiter-account"),
        "{}",
        stderr(&ran)
    );
    assert!(!output.exists());
    let ran = oauth(&["--limiter", &url, "--limiter-account", "sales-team"]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert_eq!(outcomes(&output), vec!["updated"; 10]);
}
