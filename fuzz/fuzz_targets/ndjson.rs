//! The tool's NDJSON reader, on any bytes: no panic on any thread.

use copper_bulk_cli::input::Format;

fn main() {
    copper_bulk_fuzz::abort_on_panic();
    afl::fuzz!(|data: &[u8]| {
        copper_bulk_fuzz::read_all(Format::Ndjson, data);
    });
}
