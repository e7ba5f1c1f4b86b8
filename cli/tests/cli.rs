//! The `copper-bulk` binary, end to end, against the sandbox.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use copper_bulk_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

const TOKEN: &str = "cli-tok-5e2d9a-secret";

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_copper-bulk"));
    for var in [
        "COPPER_API_TOKEN",
        "COPPER_USER_EMAIL",
        "COPPER_OAUTH_TOKEN",
        "COPPER_BASE_URL",
    ] {
        command.env_remove(var);
    }
    command
}

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A sandbox on a runtime of its own, for the binary to talk to.
struct Server {
    sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

fn server(token: &str) -> Server {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SandboxConfig::new()
        .with_credentials(token, "me@example.com")
        .with_rate_limit(None);
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    Server {
        sandbox,
        _runtime: runtime,
    }
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn outcomes(output: &Output) -> Vec<String> {
    lines(output)
        .iter()
        .map(|line| line["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// `text` without the terminal colour codes the log lines carry.
fn without_colours(text: &str) -> String {
    let mut plain = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('\u{1b}') {
        plain.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    plain.push_str(rest);
    plain
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn run_with_stdin(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_readme_example_shows_updated_rejected_and_invalid_outcomes() {
    let output = bin()
        .args(["--sandbox", "people", "update", "--input"])
        .arg(example("people.ndjson"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        outcomes(&output),
        [
            "updated", "updated", "rejected", "updated", "rejected", "invalid", "rejected",
            "updated"
        ]
    );
    let lines = lines(&output);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], i);
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{line}");
    }
    assert_eq!(
        lines[2]["errors"],
        serde_json::json!({"emails": ["invalid"]})
    );
    assert_eq!(lines[4]["message"], "Resource not found");
    assert_eq!(lines[5]["message"], "line 6: unknown field `titel`");
    assert!(
        stderr(&output)
            .contains("8 records: 4 updated, 3 rejected, 1 invalid, 0 unknown, 0 not_applied")
    );
}

#[test]
fn creates_report_the_new_ids() {
    let output = bin()
        .args(["--sandbox", "people", "create", "--input"])
        .arg(example("new-people.ndjson"))
        .output()
        .unwrap();
    assert_eq!(
        outcomes(&output),
        ["created", "rejected", "created", "rejected"]
    );
    let lines = lines(&output);
    assert_eq!(
        (lines[0]["id"].clone(), lines[2]["id"].clone()),
        (101.into(), 102.into())
    );
    assert_eq!(lines[1]["id"], Value::Null);
}

#[test]
fn every_record_applied_exits_0() {
    let output = run_with_stdin(
        bin().args(["--sandbox", "people", "update", "--input", "-"]),
        "{\"id\": 1, \"title\": \"CTO\"}\n\n{\"id\": 2, \"tags\": []}\n",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(outcomes(&output), ["updated", "updated"]);
    // The summary says the spacing bulk requests kept: Copper's 3 a
    // second, 343 ms apart, which nothing widened.
    assert!(
        stderr(&output).contains("records/s, pace 343 ms)"),
        "{}",
        stderr(&output)
    );
    // Without a rate limit there is no pace to tell.
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "--rate",
            "0",
            "people",
            "update",
            "--input",
            "-",
        ]),
        "{\"id\": 1, \"title\": \"CTO\"}\n",
    );
    assert!(!stderr(&output).contains("pace"), "{}", stderr(&output));
}

#[test]
fn csv_input_with_a_bad_row() {
    let output = bin()
        .args([
            "--sandbox",
            "people",
            "update",
            "--format",
            "csv",
            "--input",
        ])
        .arg(example("people.csv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        outcomes(&output),
        ["updated", "rejected", "updated", "invalid"]
    );
    assert_eq!(
        lines(&output)[3]["message"],
        "line 5: `id` is `x9`, not a number"
    );
}

#[test]
fn csv_from_standard_input_creates() {
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "people",
            "create",
            "--format",
            "csv",
            "--input",
            "-",
        ]),
        "name,email,tags\nAda Lovelace,ada@example.com,a;b\n,nameless@example.com,\n",
    );
    assert_eq!(outcomes(&output), ["created", "invalid"]);
    assert_eq!(
        lines(&output)[1]["message"],
        "line 3: `name` is empty; a create needs a name"
    );
}

#[test]
fn bad_lines_are_invalid_and_every_other_record_still_runs() {
    let output = run_with_stdin(
        bin().args(["--sandbox", "people", "update", "--input", "-"]),
        "{\"id\": 1, \"title\": \"a\"}\nnot json\n[1]\n{\"id\": 0, \"title\": \"x\"}\n{\"id\": 3}\n{\"id\": 2, \"title\": \"b\"}\n",
    );
    assert_eq!(
        outcomes(&output),
        [
            "updated", "invalid", "invalid", "invalid", "invalid", "updated"
        ]
    );
    let messages: Vec<String> = lines(&output)
        .iter()
        .map(|line| line["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        messages[1].starts_with("line 2: not JSON"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].starts_with("line 3: expected a JSON object"),
        "{}",
        messages[2]
    );
    assert!(messages[3].contains("no valid id"), "{}", messages[3]);
    assert!(messages[4].contains("changes no field"), "{}", messages[4]);
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    for args in [
        vec!["people", "update"],
        vec!["people", "update", "--input", "x", "--bogus"],
        vec!["people", "update", "--input", "/no/such/file"],
        vec![
            "--sandbox",
            "--batch-size",
            "0",
            "people",
            "update",
            "--input",
            "-",
        ],
        vec![
            "--base-url",
            "http://example.com",
            "people",
            "update",
            "--input",
            "-",
        ],
    ] {
        let output = run_with_stdin(
            bin()
                .args(&args)
                .env("COPPER_API_TOKEN", TOKEN)
                .env("COPPER_USER_EMAIL", "me@example.com"),
            "",
        );
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!stderr(&output).contains(TOKEN));
    }
    // No credentials, and no sandbox.
    let output = run_with_stdin(bin().args(["people", "update", "--input", "-"]), "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("COPPER_API_TOKEN"));
    // A CSV header with a column the command does not take.
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "people",
            "update",
            "--format",
            "csv",
            "--input",
            "-",
        ]),
        "id,titel\n1,x\n",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`titel`"));
}

#[test]
fn a_dry_run_shows_the_batches_and_sends_nothing() {
    let server = server(TOKEN);
    let output = bin()
        .args([
            "--dry-run",
            "--batch-size",
            "3",
            "people",
            "update",
            "--input",
        ])
        .arg(example("people.ndjson"))
        .env("COPPER_BASE_URL", server.sandbox.url())
        .env("COPPER_API_TOKEN", TOKEN)
        .env("COPPER_USER_EMAIL", "me@example.com")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "one record is invalid");
    let lines = lines(&output);
    let batches: Vec<&Value> = lines.iter().filter(|l| l.get("batch").is_some()).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0]["indices"], serde_json::json!([0, 1, 2]));
    assert_eq!(batches[0]["request"]["people"][0]["id"], 1);
    assert!(lines.iter().any(|l| l["outcome"] == "invalid"));
    assert_eq!(server.sandbox.stats().requests(), 0);
    assert!(stderr(&output).contains("nothing was sent"));
}

#[test]
fn the_token_is_never_printed() {
    let server = server(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let out_file = dir.path().join("out.ndjson");

    // Accepted, with every log line on.
    let output = bin()
        .args(["-vvv", "--token-file"])
        .arg(&token_file)
        .args([
            "--email",
            "me@example.com",
            "--base-url",
            server.sandbox.url(),
        ])
        .args(["people", "update", "--output"])
        .arg(&out_file)
        .arg("--input")
        .arg(example("people.ndjson"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "the output went to the file");
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(written.lines().count(), 8);
    assert!(
        stderr(&output).contains("copper_request"),
        "{}",
        stderr(&output)
    );
    // Each request's span says the spacing bulk requests kept.
    let plain = without_colours(&stderr(&output));
    assert!(plain.contains("pace_ms=343"), "{plain}");
    for text in [written, stderr(&output)] {
        assert!(!text.contains(TOKEN), "{text}");
    }

    // Refused: every record is reported not applied, and the token is not shown.
    let text = refused(
        &server,
        &[
            ("COPPER_API_TOKEN", "wrong-tok-123456"),
            ("COPPER_USER_EMAIL", "me@example.com"),
        ],
    );
    assert!(!text.contains("wrong-tok-123456"), "{text}");
}

/// Runs `people update` on the example at -vvv with `credentials` that
/// `server` refuses, checks that every record is reported not applied
/// because of a 401, and returns everything the tool printed.
fn refused(server: &Server, credentials: &[(&str, &str)]) -> String {
    let output = bin()
        .args(["-vvv", "--base-url", server.sandbox.url()])
        .args(["people", "update", "--input"])
        .arg(example("people.ndjson"))
        .envs(credentials.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let outcomes = outcomes(&output);
    assert_eq!(outcomes.iter().filter(|o| *o == "not_applied").count(), 7);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(text.contains("HTTP 401"), "{text}");
    text
}

/// Runs the tool on an example against its embedded sandbox.
fn sandbox_run(args: &[&str], example_file: &str) -> Output {
    bin()
        .arg("--sandbox")
        .args(args)
        .arg("--input")
        .arg(example(example_file))
        .output()
        .unwrap()
}

#[test]
fn leads_update_from_ndjson() {
    let output = sandbox_run(&["leads", "update"], "leads.ndjson");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        outcomes(&output),
        ["updated", "rejected", "updated", "rejected", "updated"]
    );
    assert_eq!(
        lines(&output)[1]["errors"],
        serde_json::json!({"email": ["invalid"]})
    );
}

#[test]
fn companies_create_from_csv() {
    let output = sandbox_run(
        &["companies", "create", "--format", "csv"],
        "new-companies.csv",
    );
    assert_eq!(
        outcomes(&output),
        ["created", "created", "invalid", "rejected"]
    );
    assert_eq!(
        lines(&output)[3]["errors"],
        serde_json::json!({"primary_contact_id": ["invalid"]})
    );
}

#[test]
fn opportunities_create_from_ndjson() {
    let output = sandbox_run(&["opportunities", "create"], "new-opportunities.ndjson");
    assert_eq!(
        outcomes(&output),
        ["created", "rejected", "rejected", "created"]
    );
    assert_eq!(
        lines(&output)[2]["errors"],
        serde_json::json!({"priority": ["invalid"]})
    );
}

#[test]
fn activities_create_from_csv() {
    let output = sandbox_run(
        &["activities", "create", "--format", "csv"],
        "new-activities.csv",
    );
    assert_eq!(
        outcomes(&output),
        ["created", "created", "rejected", "created"]
    );
    assert_eq!(
        lines(&output)[2]["errors"],
        serde_json::json!({"parent": ["invalid"]})
    );
}

#[test]
fn entities_without_bulk_updates_have_no_update_command() {
    for entity in ["opportunities", "activities"] {
        let output = run_with_stdin(
            bin().args(["--sandbox", entity, "update", "--input", "-"]),
            "",
        );
        assert_eq!(output.status.code(), Some(2), "{entity}");
    }
}

#[test]
fn leads_switched_off_reach_the_user_as_a_clear_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SandboxConfig::new()
        .with_credentials(TOKEN, "me@example.com")
        .with_rate_limit(None)
        .with_leads_enabled(false);
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    let output = bin()
        .args(["--base-url", sandbox.url(), "leads", "update", "--input"])
        .arg(example("leads.ndjson"))
        .env("COPPER_API_TOKEN", TOKEN)
        .env("COPPER_USER_EMAIL", "me@example.com")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(outcomes(&output), ["not_applied"; 5]);
    let message = lines(&output)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("HTTP 403") && message.contains("Feature not enabled"),
        "{message}"
    );
    assert_eq!(sandbox.stats().requests(), 1);
}

/// Waits for `child`, killing it if it has not ended after a generous
/// while: a tool that blocks on a pipe would otherwise hang the test run.
fn wait_or_kill(mut child: std::process::Child) -> Output {
    for _ in 0..1_200 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    panic!("the tool never ended: {}", stderr(&output));
}

/// The README example's outcomes, and its summary.
fn assert_the_readme_example_ran(output: &Output) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert_eq!(
        outcomes(output),
        [
            "updated", "updated", "rejected", "updated", "rejected", "invalid", "rejected",
            "updated"
        ]
    );
    assert!(stderr(output).contains("8 records:"), "{}", stderr(output));
}

#[test]
fn a_named_pipe_as_input_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("records");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let child = bin()
        .args(["--sandbox", "people", "update", "--input"])
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe is written as a shell's `<(...)` would write it: once, as
    // it is read. Opening it blocks until the tool opens it for reading.
    let writer = std::thread::spawn(move || {
        let records = std::fs::read(example("people.ndjson")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .unwrap()
            .write_all(&records)
            .unwrap();
    });
    let output = wait_or_kill(child);
    assert_the_readme_example_ran(&output);
    // Joined only now: had the tool never opened the pipe, this would wait.
    writer.join().unwrap();
}

#[test]
fn an_output_that_cannot_be_written_has_its_own_exit_status() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: this system has no /dev/full");
        return;
    }
    // A run says how many records were applied; a dry run, that it sent
    // nothing.
    for (mode, said) in [
        ("--sandbox", "4 records were applied"),
        ("--dry-run", "nothing was sent"),
    ] {
        let output = bin()
            .args([mode, "people", "update", "--output", "/dev/full", "--input"])
            .arg(example("people.ndjson"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{mode}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains("cannot write the output"), "{message}");
        assert!(message.contains(said), "{message}");
    }
}

#[test]
fn an_input_that_cannot_be_read_to_its_end_has_its_own_exit_status() {
    // A directory opens like a file and fails on the first read.
    let dir = tempfile::tempdir().unwrap();
    let output = bin()
        .args(["--sandbox", "people", "update", "--input"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("cannot read the input"), "{message}");
    assert!(outcomes(&output).is_empty());
}

/// Two people to update, and what Copper answers when it updates them.
const TWO_UPDATES: &str = "{\"id\": 1, \"title\": \"CTO\"}\n{\"id\": 2, \"title\": \"CFO\"}\n";

fn two_people_updated() -> Value {
    serde_json::json!([
        {"id": 1, "name": "Ada", "title": "CTO", "emails": [], "date_created": 1687360885, "date_modified": 1687360885},
        {"id": 2, "name": "Grace", "title": "CFO", "emails": [], "date_created": 1687360885, "date_modified": 1687360885},
    ])
}

/// A server that answers the first request with 429 and this
/// `Retry-After`, and every later one as Copper would.
fn refusing_once_with(retry_after: &str) -> (wiremock::MockServer, tokio::runtime::Runtime) {
    use wiremock::{Mock, ResponseTemplate, matchers::any};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", retry_after))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(two_people_updated()))
            .mount(&server)
            .await;
        server
    });
    (server, runtime)
}

#[test]
fn a_hostile_retry_after_never_crashes_the_tool() {
    for retry_after in ["1e20", "inf", "NaN", "-5", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let (server, _runtime) = refusing_once_with(retry_after);
        let output = run_with_stdin(
            bin()
                .args([
                    "--base-url",
                    &server.uri(),
                    "people",
                    "update",
                    "--input",
                    "-",
                ])
                .env("COPPER_API_TOKEN", TOKEN)
                .env("COPPER_USER_EMAIL", "me@example.com"),
            TWO_UPDATES,
        );
        // A wait too long for the retry budget gives up on the batch
        // (not applied); nonsense is ignored and the batch retried (updated).
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "Retry-After: {retry_after}: {:?} {}",
            output.status,
            stderr(&output)
        );
        let outcomes = outcomes(&output);
        assert_eq!(
            outcomes.len(),
            2,
            "Retry-After: {retry_after}: {outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .all(|outcome| outcome == "updated" || outcome == "not_applied"),
            "Retry-After: {retry_after}: {outcomes:?}"
        );
    }
}

#[test]
fn a_rate_copper_refuses_is_warned_about_and_kept() {
    let server = server(TOKEN);
    let run = |rate: &str| {
        bin()
            .args(["--rate", rate, "--base-url", server.sandbox.url()])
            .args(["people", "update", "--input"])
            .arg(example("people.ndjson"))
            .env("COPPER_API_TOKEN", TOKEN)
            .env("COPPER_USER_EMAIL", "me@example.com")
            .output()
            .unwrap()
    };
    let fast = run("10");
    assert_eq!(outcomes(&fast).len(), 8);
    assert!(
        stderr(&fast)
            .contains("warning: --rate 10 is above the 3 bulk requests a second Copper accepts"),
        "{}",
        stderr(&fast)
    );
    for rate in ["3", "0"] {
        let output = run(rate);
        assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    }
}

#[test]
fn the_readme_upsert_example_updates_creates_and_refuses() {
    let output = bin()
        .args([
            "--sandbox",
            "people",
            "upsert",
            "--match",
            "email",
            "--input",
        ])
        .arg(example("people-upsert.ndjson"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        outcomes(&output),
        ["updated", "created", "ambiguous", "invalid", "invalid"]
    );
    let lines = lines(&output);
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[1]["id"], 101, "the sandbox seeds 100 people");
    assert_eq!(lines[2]["ids"], serde_json::json!([2, 3]));
    assert!(
        lines[3]["message"].as_str().unwrap().contains("record 0"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4]["message"]
            .as_str()
            .unwrap()
            .contains("no e-mail address"),
        "{}",
        lines[4]
    );
    assert!(lines[0].get("ids").is_none(), "{}", lines[0]);
}

#[test]
fn csv_upsert_from_standard_input() {
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "people",
            "upsert",
            "--match",
            "email",
            "--format",
            "csv",
            "--input",
            "-",
        ]),
        "name,email,title\nAlan Turing,PERSON5@example.com,Mathematician\nAda Lovelace,ada@example.com,\n",
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(outcomes(&output), ["updated", "created"]);
    assert_eq!(lines(&output)[0]["id"], 5);
}

#[test]
fn update_by_email_reports_who_was_not_found() {
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "people",
            "update",
            "--match",
            "email",
            "--format",
            "csv",
            "--input",
            "-",
        ]),
        "name,email\nAlan Turing,person6@example.com\nAda Lovelace,ada@example.com\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(outcomes(&output), ["updated", "not_found"]);
    let stderr = stderr(&output);
    assert!(stderr.contains("1 not_found"), "{stderr}");
}

#[test]
fn a_dry_run_with_match_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let output = bin()
        .args([
            "--sandbox",
            "--dry-run",
            "people",
            "upsert",
            "--match",
            "email",
            "--input",
        ])
        .arg(example("people-upsert.ndjson"))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains("--dry-run is not available with --match"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn a_record_with_an_id_is_invalid_when_matched_by_email() {
    let output = run_with_stdin(
        bin().args([
            "--sandbox",
            "people",
            "upsert",
            "--match",
            "email",
            "--input",
            "-",
        ]),
        "{\"id\": 4, \"name\": \"Four\", \"emails\": [{\"email\": \"person4@example.com\"}]}\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(outcomes(&output), ["invalid"]);
    assert_eq!(lines(&output)[0]["message"], "line 1: unknown field `id`");
}

#[test]
fn the_readme_leads_and_companies_upsert_examples_update_create_and_refuse() {
    for (entity, key, file, missing) in [
        ("leads", "email", "leads-upsert.ndjson", "no e-mail address"),
        (
            "companies",
            "email_domain",
            "companies-upsert.ndjson",
            "no e-mail domain",
        ),
    ] {
        let output = sandbox_run(&[entity, "upsert", "--match", key], file);
        assert_eq!(output.status.code(), Some(1), "{entity}: {output:?}");
        assert_eq!(
            outcomes(&output),
            ["updated", "created", "invalid", "invalid"],
            "{entity}"
        );
        let lines = lines(&output);
        assert_eq!(lines[0]["id"], 1, "{entity}");
        assert_eq!(lines[1]["id"], 11, "{entity}: the sandbox seeds 10");
        let message = |line: &Value| line["message"].as_str().unwrap().to_owned();
        assert!(message(&lines[2]).contains("record 0"), "{}", lines[2]);
        assert!(message(&lines[3]).contains(missing), "{}", lines[3]);
        assert!(
            stderr(&output).contains("1 updated, 1 created"),
            "{}",
            stderr(&output)
        );
    }
}

/// Runs `copper-bulk ENTITY ARGS` against `server` with `input` on
/// standard input.
fn run_against(server: &Server, entity: &str, args: &[&str], input: &str) -> Output {
    run_with_stdin(
        bin()
            .args(["--base-url", server.sandbox.url(), entity])
            .args(args)
            .args(["--input", "-"])
            .env("COPPER_API_TOKEN", TOKEN)
            .env("COPPER_USER_EMAIL", "me@example.com"),
        input,
    )
}

#[test]
fn csv_upsert_of_leads_and_companies_by_key_counts_one_search_a_key() {
    for (entity, key, twins, records, repeated) in [
        (
            "leads",
            "email",
            "name,email\nTwin A,twin@example.com\nTwin B,TWIN@example.com\n",
            "name,email,status\n\
             Lead Two,LEAD2@example.com,Qualified\n\
             Ada Lovelace,ada@example.com,New\n\
             Which Twin,twin@example.com,\n\
             Lead Two Again,lead2@example.com,\n\
             No Address,,\n",
            "record 0 of the input already has the e-mail address lead2@example.com",
        ),
        (
            "companies",
            "email_domain",
            "name,email_domain\nTwin A,twin.example.com\nTwin B,Twin.Example.com\n",
            "name,email_domain,city\n\
             Company Two,COMPANY2.example.com,Boston\n\
             Initech,initech.example.com,Austin\n\
             Which Twin,twin.example.com,\n\
             Company Two Again,company2.example.com,\n\
             Initrode,,\n",
            "record 0 of the input already has the e-mail domain company2.example.com",
        ),
    ] {
        let server = server(TOKEN);
        // Copper lets two leads share an address; an account can hold two
        // companies of one domain too (made before the rule, or merged),
        // although Copper refuses to create the second now: those are seeded.
        if entity == "companies" {
            for line in twins.lines().skip(1) {
                let (name, domain) = line.split_once(',').unwrap();
                let mut twin = serde_json::Map::new();
                twin.insert("name".into(), name.into());
                twin.insert("email_domain".into(), domain.into());
                server
                    .sandbox
                    .seed(copper_bulk_sandbox::Entity::Companies, twin);
            }
        } else {
            let created = run_against(&server, entity, &["create", "--format", "csv"], twins);
            assert_eq!(outcomes(&created), ["created", "created"], "{entity}");
        }
        let searches = server.sandbox.stats().searches;
        let output = run_against(
            &server,
            entity,
            &["upsert", "--match", key, "--format", "csv"],
            records,
        );
        assert_eq!(output.status.code(), Some(1), "{entity}: {output:?}");
        assert_eq!(
            outcomes(&output),
            ["updated", "created", "ambiguous", "invalid", "invalid"],
            "{entity}"
        );
        let lines = lines(&output);
        assert_eq!(lines[0]["id"], 2, "{entity}");
        assert_eq!(lines[2]["ids"], serde_json::json!([11, 12]), "{entity}");
        assert_eq!(lines[3]["message"], repeated);
        // Three distinct keys, one search each: Copper's lead and company
        // searches take one address or domain.
        assert_eq!(server.sandbox.stats().searches - searches, 3, "{entity}");
        let stderr = stderr(&output);
        assert!(stderr.contains("1 ambiguous"), "{entity}: {stderr}");
    }
}

#[test]
fn leads_and_companies_update_by_key_report_what_was_not_found() {
    for (entity, key, input) in [
        (
            "leads",
            "email",
            "name,email\nLead Three,lead3@example.com\nNobody,nobody@example.com\n",
        ),
        (
            "companies",
            "email_domain",
            "name,email_domain\nCompany Three,company3.example.com\nNobody,nobody.example.com\n",
        ),
    ] {
        let output = run_with_stdin(
            bin().args([
                "--sandbox",
                entity,
                "update",
                "--match",
                key,
                "--format",
                "csv",
                "--input",
                "-",
            ]),
            input,
        );
        assert_eq!(output.status.code(), Some(1), "{entity}: {output:?}");
        assert_eq!(outcomes(&output), ["updated", "not_found"], "{entity}");
        assert_eq!(lines(&output)[0]["id"], 3, "{entity}");
    }
}

#[test]
fn match_takes_only_the_key_of_the_entity() {
    for (entity, action, key) in [
        ("leads", "upsert", "email_domain"),
        ("companies", "upsert", "email"),
        ("companies", "update", "email"),
        ("people", "update", "email_domain"),
        ("companies", "upsert", "name"),
    ] {
        let output = bin()
            .args(["--sandbox", entity, action, "--match", key, "--input"])
            .arg(example("companies-upsert.ndjson"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{entity} {action} {key}");
        let stderr = stderr(&output);
        assert!(
            stderr.contains(&format!("invalid value '{key}' for '--match <KEY>'")),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

const OAUTH_TOKEN: &str = "cli-oauth-7c41f0-secret";

/// A sandbox that takes the API key [`TOKEN`] of `me@example.com` and the
/// OAuth access token [`OAUTH_TOKEN`].
fn server_with_oauth() -> Server {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SandboxConfig::new()
        .with_credentials(TOKEN, "me@example.com")
        .with_oauth_token(Some(OAUTH_TOKEN))
        .with_rate_limit(None);
    let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
    Server {
        sandbox,
        _runtime: runtime,
    }
}

/// Every command of the tool, with its input: an example file or inline
/// NDJSON.
const EVERY_COMMAND: &[(&[&str], &str)] = &[
    (&["people", "update"], "people.ndjson"),
    (&["people", "update", "--format", "csv"], "people.csv"),
    (&["people", "create"], "new-people.ndjson"),
    (
        &["people", "upsert", "--match", "email"],
        "people-upsert.ndjson",
    ),
    (
        &["people", "update", "--match", "email"],
        "people-upsert.ndjson",
    ),
    (&["leads", "update"], "leads.ndjson"),
    (
        &["leads", "create"],
        r#"{"name": "Ada Lovelace", "email": {"email": "ada@example.com", "category": "work"}}"#,
    ),
    (
        &["leads", "upsert", "--match", "email"],
        "leads-upsert.ndjson",
    ),
    (
        &["leads", "update", "--match", "email"],
        "leads-upsert.ndjson",
    ),
    (
        &["companies", "create", "--format", "csv"],
        "new-companies.csv",
    ),
    (
        &["companies", "update"],
        r#"{"id": 1, "details": "Updated with OAuth"}"#,
    ),
    (
        &["companies", "upsert", "--match", "email_domain"],
        "companies-upsert.ndjson",
    ),
    (
        &["companies", "update", "--match", "email_domain"],
        "companies-upsert.ndjson",
    ),
    (&["opportunities", "create"], "new-opportunities.ndjson"),
    (
        &["activities", "create", "--format", "csv"],
        "new-activities.csv",
    ),
];

/// Runs every command, in order, against `server`, authenticated by
/// `credentials` (environment variables), and returns each run's lines.
fn every_command(server: &Server, credentials: &[(&str, &str)]) -> Vec<Vec<Value>> {
    EVERY_COMMAND
        .iter()
        .map(|(args, input)| {
            let mut command = bin();
            // Every log line on, to see that none carries a secret.
            command
                .args(["-vvv", "--base-url", server.sandbox.url()])
                .args(*args)
                .envs(credentials.iter().copied());
            let output = if input.starts_with('{') {
                run_with_stdin(command.args(["--input", "-"]), input)
            } else {
                command.arg("--input").arg(example(input)).output().unwrap()
            };
            let text = stderr(&output);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "{args:?}: {text}"
            );
            assert!(text.contains("copper_request"), "{args:?}: {text}");
            assert!(
                !text.contains(TOKEN) && !text.contains(OAUTH_TOKEN),
                "{text}"
            );
            lines(&output)
        })
        .collect()
}

/// An OAuth-only user runs every command, and each gives exactly the
/// outcomes it gives an API-key user on a sandbox in the same state: with
/// no API key anywhere, every request went out with the bearer token.
#[test]
fn an_oauth_only_user_runs_every_command_as_an_api_key_user_does() {
    let by_key = server_with_oauth();
    let with_key = every_command(
        &by_key,
        &[
            ("COPPER_API_TOKEN", TOKEN),
            ("COPPER_USER_EMAIL", "me@example.com"),
        ],
    );
    let by_oauth = server_with_oauth();
    let with_oauth = every_command(&by_oauth, &[("COPPER_OAUTH_TOKEN", OAUTH_TOKEN)]);
    for ((args, _), (key, oauth)) in EVERY_COMMAND.iter().zip(with_key.iter().zip(&with_oauth)) {
        assert_eq!(key, oauth, "{args:?}");
        let outcomes: Vec<&str> = oauth
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect();
        assert!(
            outcomes.iter().any(|o| *o == "updated" || *o == "created"),
            "{args:?}: {outcomes:?}"
        );
        assert!(
            !outcomes
                .iter()
                .any(|o| *o == "not_applied" || *o == "unknown"),
            "{args:?}: {outcomes:?}"
        );
    }
    let stats = by_oauth.sandbox.stats();
    assert_eq!(stats.by_status.get(&401), None, "{stats:?}");
    assert!(stats.requests() > EVERY_COMMAND.len(), "{stats:?}");
}

/// An OAuth access token beside any part of an API key's credentials is a
/// usage error that sends nothing and repeats neither secret; so is an
/// empty token file.
#[test]
fn an_oauth_token_with_an_api_key_is_a_usage_error() {
    let server = server_with_oauth();
    let dir = tempfile::tempdir().unwrap();
    let oauth_file = dir.path().join("oauth");
    std::fs::write(&oauth_file, format!("{OAUTH_TOKEN}\n")).unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, TOKEN).unwrap();
    let empty_file = dir.path().join("empty");
    std::fs::write(&empty_file, "\n").unwrap();
    let oauth_file = oauth_file.to_str().unwrap();
    let key_file = key_file.to_str().unwrap();
    // The flags, the environment, and what the error must say.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![],
            vec![
                ("COPPER_OAUTH_TOKEN", OAUTH_TOKEN),
                ("COPPER_API_TOKEN", TOKEN),
            ],
            "give one kind only",
        ),
        (
            vec!["--oauth-token-file", oauth_file, "--token-file", key_file],
            vec![],
            "give one kind only",
        ),
        (
            vec!["--email", "me@example.com"],
            vec![("COPPER_OAUTH_TOKEN", OAUTH_TOKEN)],
            "(--email)",
        ),
        (
            vec!["--oauth-token-file", oauth_file],
            vec![("COPPER_USER_EMAIL", "me@example.com")],
            "(COPPER_USER_EMAIL)",
        ),
        (
            vec!["--oauth-token-file", empty_file.to_str().unwrap()],
            vec![],
            "the OAuth access token is empty (from --oauth-token-file)",
        ),
        // The embedded sandbox and a dry run check the credentials too.
        (
            vec!["--sandbox", "--oauth-token-file", "/no/such/token"],
            vec![],
            "cannot read the --oauth-token-file",
        ),
        (
            vec!["--sandbox"],
            vec![
                ("COPPER_OAUTH_TOKEN", OAUTH_TOKEN),
                ("COPPER_API_TOKEN", TOKEN),
            ],
            "give one kind only",
        ),
        (
            vec!["--dry-run"],
            vec![
                ("COPPER_OAUTH_TOKEN", OAUTH_TOKEN),
                ("COPPER_USER_EMAIL", "me@example.com"),
            ],
            "(COPPER_USER_EMAIL)",
        ),
    ];
    for (args, env, message) in cases {
        let output = run_with_stdin(
            bin()
                .args(["--base-url", server.sandbox.url()])
                .args(&args)
                .args(["people", "update", "--input", "-"])
                .envs(env.iter().copied()),
            "{\"id\": 1, \"title\": \"x\"}\n",
        );
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}: {text}");
        assert!(text.contains(message), "{args:?} {env:?}: {text}");
        assert!(
            !text.contains(OAUTH_TOKEN) && !text.contains(TOKEN),
            "{text}"
        );
        assert!(output.stdout.is_empty());
    }
    assert_eq!(server.sandbox.stats().requests(), 0);
}

/// A wrong OAuth access token is refused with 401: the records are not
/// applied, the error says so, and no token is printed even at -vvv.
#[test]
fn a_refused_oauth_token_is_reported_and_never_printed() {
    let server = server_with_oauth();
    let text = refused(&server, &[("COPPER_OAUTH_TOKEN", "wrong-oauth-987654")]);
    assert!(text.contains("OAuth access token"), "{text}");
    assert!(!text.contains("wrong-oauth-987654"), "{text}");
    assert!(server.sandbox.applied().is_empty());
}

/// A usage error about credentials leaves no output and no journal
/// behind, so that the corrected command runs as a new job.
#[test]
fn a_credentials_error_writes_no_output_or_journal() {
    let server = server_with_oauth();
    let dir = tempfile::tempdir().unwrap();
    let output_file = dir.path().join("out.ndjson");
    // `command` over the example `input`, with `--output` in the folder.
    let tool = |command: &[&str], input: &str, env: &[(&str, &str)]| {
        bin()
            .args(["--quiet", "--base-url", server.sandbox.url()])
            .args(command)
            .arg("--input")
            .arg(example(input))
            .arg("--output")
            .arg(&output_file)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let run = |env: &[(&str, &str)]| tool(&["people", "update"], "people.ndjson", env);
    let for_upsert = |env: &[(&str, &str)]| {
        tool(
            &["people", "upsert", "--match", "email"],
            "people-upsert.ndjson",
            env,
        )
    };
    let mixed = [
        ("COPPER_OAUTH_TOKEN", OAUTH_TOKEN),
        ("COPPER_USER_EMAIL", "me@example.com"),
    ];
    for output in [run(&mixed), for_upsert(&mixed)] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
    // The corrected command runs; a blank OAuth variable beside an API key
    // counts as not given.
    let output = run(&[
        ("COPPER_OAUTH_TOKEN", " "),
        ("COPPER_API_TOKEN", TOKEN),
        ("COPPER_USER_EMAIL", "me@example.com"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .count(),
        8
    );
}
