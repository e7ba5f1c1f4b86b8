//! Generates the raw client from the spec packaged with this crate.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // `copper.yaml` is part of this package (see Cargo.toml), so the crate
    // also builds from its published tarball.
    let spec = manifest.join("copper.yaml");
    println!("cargo::rerun-if-changed={}", spec.display());

    let header = "// Generated at build time by copper-bulk-codegen from openapi/copper.yaml.\n";
    let code = copper_bulk_codegen::generate(&spec, header).unwrap_or_else(|e| panic!("{e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("client.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
