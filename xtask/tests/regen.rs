//! The same check as `cargo xtask regen --check`, as an ordinary test.

#[test]
fn files_derived_from_the_spec_are_up_to_date() {
    let stale = xtask::regen::check(&xtask::workspace_root()).expect("the spec generates");
    let report: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}
