//! The modules of the `copper-bulk` tool, as a library so that tests and
//! fuzz targets can reach the input readers and the rest of the pipeline
//! directly. The tool's interface is its command line: these modules are
//! not a stable API, and they may change in any release.

// The modules were written for a binary, where nothing is exported; their
// public types exist for the tool, not for other crates to print.
#![allow(missing_debug_implementations)]

pub mod csv_cells;
pub mod csv_input;
pub mod csv_records;
pub mod input;
pub mod journal;
pub mod limiter;
pub mod ndjson;
pub mod output;
pub mod resume;
pub mod run;
pub mod signals;
