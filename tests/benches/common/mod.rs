//! What the benchmarks share: the runs of each client, and how to measure
//! them.

#![allow(dead_code, reason = "each benchmark uses part of this module")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use copper_bulk::{Config, Copper, PersonUpdate, RateLimit};
use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::hooks::{Credentials, Inner, http_client_builder};
use copper_bulk_raw::types::PeopleBulkUpdateRequest;
use copper_bulk_sandbox::SandboxConfig;

/// One client's run over the records.
pub struct Run {
    pub client: String,
    pub records: usize,
    pub applied: usize,
    pub seconds: f64,
    /// CPU time of the client alone, when measured.
    pub cpu_seconds: Option<f64>,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.applied as f64 / self.seconds
    }
}

/// `records` updates of the sandbox's 100 seeded people.
pub fn updates(records: usize) -> Vec<PersonUpdate> {
    (0..records)
        .map(|i| PersonUpdate::new(i as i64 % 100 + 1).title(format!("Title {i}")))
        .collect()
}

pub fn records_from_env(default: usize) -> usize {
    std::env::var("COPPER_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The facade with its defaults, or with no rate limit.
pub async fn facade(url: &str, records: usize, rate_limited: bool) -> Run {
    let mut config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(url)
        .unwrap();
    if !rate_limited {
        config = config.with_rate_limits(Vec::<RateLimit>::new());
    }
    let copper = Copper::new(config).unwrap();
    let cpu = cpu_seconds_of_this_process();
    let started = Instant::now();
    let report = copper.people().bulk_update(updates(records)).report().await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.counts().total(), records);
    Run {
        client: if rate_limited {
            "copper-bulk facade (defaults)".into()
        } else {
            "copper-bulk facade (rate limit off)".into()
        },
        records,
        applied: report.applied.len(),
        seconds,
        cpu_seconds: Some(cpu_seconds_of_this_process() - cpu),
    }
}

/// The `copper-bulk` tool at `tool`, as a user runs it: from an input file
/// to an output file, which keeps the journal `--resume` needs (written
/// and synced before and after every request). `None` when it cannot run.
pub fn tool(tool: &str, url: &str, records: usize) -> Option<Run> {
    let lines: Vec<String> = updates(records)
        .iter()
        .map(|record| serde_json::to_string(record).expect("records serialize"))
        .collect();
    let ran = run_tool(tool, url, &["people", "update"], &lines)?;
    let applied = ran.outcomes("updated");
    if !ran.success && applied == 0 {
        return None;
    }
    Some(Run {
        client: format!(
            "copper-bulk tool (--output{})",
            if ran.journaled { ", journal" } else { "" }
        ),
        records,
        applied,
        seconds: ran.seconds,
        cpu_seconds: None,
    })
}

/// What one run of the tool left.
pub struct ToolRun {
    /// Whether it exited with status 0.
    pub success: bool,
    /// From its start to its exit.
    pub seconds: f64,
    /// Its outcome lines.
    pub output: String,
    /// Whether it wrote a journal beside its output.
    pub journaled: bool,
}

impl ToolRun {
    /// How many outcome lines say `outcome` (`updated`, `created`, ...).
    pub fn outcomes(&self, outcome: &str) -> usize {
        let field = format!("\"outcome\":\"{outcome}\"");
        self.output
            .lines()
            .filter(|line| line.contains(&field))
            .count()
    }
}

/// The tool at `tool` running `command` (such as `people update`) against
/// the sandbox at `url` with its API key, as a user does: from `input` to
/// `output`, quietly, its standard error discarded.
pub fn tool_command(
    tool: &str,
    url: &str,
    command: &[&str],
    input: &Path,
    output: &Path,
) -> Command {
    let mut tool = Command::new(tool);
    tool.args(command)
        .args(["--quiet", "--base-url", url, "--input"])
        .arg(input)
        .arg("--output")
        .arg(output)
        .env("COPPER_API_TOKEN", SandboxConfig::TOKEN)
        .env("COPPER_USER_EMAIL", SandboxConfig::USER_EMAIL)
        .stderr(Stdio::null());
    tool
}

/// Runs the tool at `tool` against the sandbox at `url` as a user does:
/// `command` (such as `people update`) with `lines` as its input file and
/// an output file. `None` when it cannot run or leaves no output.
pub fn run_tool(tool: &str, url: &str, command: &[&str], lines: &[String]) -> Option<ToolRun> {
    let dir = std::env::temp_dir().join(format!("copper-bench-tool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let input = dir.join("in.ndjson");
    let output = dir.join("out.ndjson");
    let _ = std::fs::remove_file(&output);
    let _ = std::fs::remove_file(dir.join("out.ndjson.journal"));
    std::fs::write(&input, lines.join("\n") + "\n").ok()?;
    let started = Instant::now();
    let status = tool_command(tool, url, command, &input, &output)
        .status()
        .ok()?;
    let seconds = started.elapsed().as_secs_f64();
    let written = std::fs::read_to_string(&output).ok()?;
    let journaled = dir.join("out.ndjson.journal").exists();
    let _ = std::fs::remove_dir_all(&dir);
    Some(ToolRun {
        success: status.success(),
        seconds,
        output: written,
        journaled,
    })
}

/// Send ten records, wait for the answer, sleep a third of a second.
pub async fn naive(url: &str, records: usize) -> Run {
    let http = http_client_builder(Duration::from_secs(10), Duration::from_secs(60))
        .build()
        .unwrap();
    let credentials = Credentials::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL).unwrap();
    let raw = copper_bulk_raw::Client::new_with_client(url, http, Inner::new(credentials));
    let started = Instant::now();
    let mut applied = 0;
    for chunk in updates(records).chunks(10) {
        let body = PeopleBulkUpdateRequest {
            people: chunk.to_vec(),
        };
        // A failed request is not retried: the loop is the plain one.
        if let Ok(response) = raw.people_bulk_update(None, &body).await {
            applied += response
                .into_inner()
                .iter()
                .filter(|item| matches!(item, BulkItem::Ok(_)))
                .count();
        }
        tokio::time::sleep(Duration::from_secs(1) / 3).await;
    }
    Run {
        client: "naive Rust (send, wait, sleep 1/3 s)".into(),
        records,
        applied,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: None,
    }
}

/// The Python client openapi-python-client generates, in the obvious
/// loop; `None` when the benchmark was not given a Python with the
/// generated client (`cargo xtask bench` gives it one).
pub fn python(url: &str, records: usize, pause: f64, name: &str) -> Option<Run> {
    let result = run_python(
        "python_client.py",
        &[url, &records.to_string(), &pause.to_string()],
    )?;
    Some(Run {
        client: name.into(),
        records,
        applied: result.applied,
        seconds: result.seconds,
        cpu_seconds: Some(result.cpu_seconds),
    })
}

/// The concurrent Python peer (`python_concurrent.py`): `workers` threads
/// sharing one pacer that spaces requests a third of a second and
/// `margin_ms` apart, with 429 handling; `create` sends creates named
/// `Bench <index>` instead of updates. Returns the run and the indexes of
/// the records it counts as applied; `None` as for [`python`].
pub fn python_concurrent(
    url: &str,
    records: usize,
    create: bool,
    workers: usize,
    margin_ms: u64,
) -> Option<(Run, Vec<usize>)> {
    let operation = if create { "create" } else { "update" };
    let result = run_python(
        "python_concurrent.py",
        &[
            url,
            &records.to_string(),
            operation,
            &workers.to_string(),
            &margin_ms.to_string(),
        ],
    )?;
    let spacing = match margin_ms {
        0 => "1/3 s".to_owned(),
        margin => format!("1/3 s + {margin} ms"),
    };
    let run = Run {
        client: format!("Python, {workers} threads, shared pacer ({spacing}), 429 retried"),
        records,
        applied: result.applied,
        seconds: result.seconds,
        cpu_seconds: Some(result.cpu_seconds),
    };
    Some((run, result.applied_indexes))
}

/// What a Python peer printed, and its CPU time.
struct PythonResult {
    applied: usize,
    applied_indexes: Vec<usize>,
    seconds: f64,
    cpu_seconds: f64,
}

/// Runs one of the Python peers beside this file with the generated
/// client on its path, and reads the JSON line it prints.
fn run_python(script: &str, args: &[&str]) -> Option<PythonResult> {
    let python = std::env::var("COPPER_BENCH_PYTHON").ok()?;
    let path = std::env::var("COPPER_BENCH_PYTHONPATH").ok()?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(script);
    // wait_with_cpu reaps it, with wait4, to read its CPU time.
    #[allow(clippy::zombie_processes, reason = "wait4 waits for it")]
    let child = Command::new(python)
        .arg(&script)
        .args(args)
        .env("PYTHONPATH", path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    let pid = child.id();
    let stdout = child.stdout.expect("piped");
    let line = std::io::read_to_string(stdout).expect("python output");
    let (status, cpu_seconds) = wait_with_cpu(pid);
    assert_eq!(status, 0, "{} failed", script.display());
    let result: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    let applied_indexes = result["applied_indexes"]
        .as_array()
        .map(|indexes| {
            indexes
                .iter()
                .filter_map(|i| i.as_u64().map(|i| i as usize))
                .collect()
        })
        .unwrap_or_default();
    Some(PythonResult {
        applied: result["applied"].as_u64().expect("a count") as usize,
        applied_indexes,
        seconds: result["seconds"].as_f64().expect("seconds"),
        cpu_seconds,
    })
}

/// User and system CPU time of this process so far, in seconds.
pub fn cpu_seconds_of_this_process() -> f64 {
    // SAFETY: getrusage only fills in the struct it is given.
    #[allow(unsafe_code, reason = "getrusage is the one way to read CPU time")]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Waits for child `pid`; returns its exit status and CPU seconds.
pub fn wait_with_cpu(pid: u32) -> (i32, f64) {
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in, and `pid` is a
    // child of this process that nothing else waits for.
    #[allow(
        unsafe_code,
        reason = "wait4 is the one way to read a child's CPU time"
    )]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

fn seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1e6
}
