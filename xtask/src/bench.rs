//! `cargo xtask bench-memory`: the command-line tool's memory and speed
//! on 100,000 and 1,000,000 records, streamed end to end.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// One measured run of the tool.
struct Run {
    records: usize,
    seconds: f64,
    peak_rss_kib: i64,
}

/// Sends the records through the release build of the tool to a sandbox
/// process with rate limiting off, and prints records per second and peak
/// resident memory of the tool for each size.
pub fn memory(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "copper-bulk-cli"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p copper-bulk-cli failed");
    }
    let tool = root.join("target/release/copper-bulk");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;

    let mut sandbox = Command::new(&tool)
        .args(["sandbox", "--port", "0", "--no-rate-limit"])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the sandbox")?;
    let mut output = BufReader::new(sandbox.stdout.take().context("no sandbox output")?);
    let mut first = String::new();
    output.read_line(&mut first)?;
    // Keep reading what the sandbox prints, so that it never writes to a
    // closed pipe.
    std::thread::spawn(move || std::io::copy(&mut output, &mut std::io::sink()));
    let url = first
        .split_whitespace()
        .last()
        .context("the sandbox did not say where it listens")?
        .to_owned();

    let mut runs = Vec::new();
    for records in [100_000, 1_000_000] {
        let input = records_file(&dir, records)?;
        runs.push(measure(&tool, &url, &input, records)?);
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();

    println!("\n| records | seconds | records/s | peak RSS of the tool |");
    println!("|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} | {:.1} | {:.0} | {:.1} MiB |",
            run.records,
            run.seconds,
            run.records as f64 / run.seconds,
            run.peak_rss_kib as f64 / 1024.0
        );
    }
    Ok(())
}

/// `records` updates of the sandbox's 100 seeded people, one per line.
fn records_file(dir: &Path, records: usize) -> Result<PathBuf> {
    let path = dir.join(format!("people-{records}.ndjson"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
        return Ok(path);
    }
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..records {
        writeln!(
            out,
            r#"{{"id": {}, "title": "Title {i}", "tags": ["bench"]}}"#,
            i % 100 + 1
        )?;
    }
    out.flush()?;
    Ok(path)
}

fn measure(tool: &Path, url: &str, input: &Path, records: usize) -> Result<Run> {
    let started = Instant::now();
    let child = Command::new(tool)
        .args([
            "--rate",
            "0",
            "--quiet",
            "--base-url",
            url,
            "people",
            "update",
        ])
        .arg("--input")
        .arg(input)
        .args(["--output", "/dev/null"])
        .env("COPPER_API_TOKEN", "sandbox-token")
        .env("COPPER_USER_EMAIL", "sandbox@example.com")
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the tool")?;
    let (status, peak_rss_kib) = wait_with_peak_rss(child.id())?;
    let seconds = started.elapsed().as_secs_f64();
    if status != 0 {
        bail!("the tool exited with {status} on {} records", records);
    }
    Ok(Run {
        records,
        seconds,
        peak_rss_kib,
    })
}

/// Waits for process `pid` and returns its exit status and peak resident
/// memory in KiB, from `wait4`'s resource usage of that one process.
fn wait_with_peak_rss(pid: u32) -> Result<(i32, i64)> {
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in, and `pid` is a
    // child of this process that nothing else waits for.
    #[allow(
        unsafe_code,
        reason = "wait4 is the one way to read a child's peak memory"
    )]
    let (waited, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage);
        (waited, usage)
    };
    if waited < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss))
}
