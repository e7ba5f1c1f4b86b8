//! What the fuzz targets share: every panic, on any thread, ends the
//! process, so that AFL++ records it as a crash.

use std::io::Cursor;

use copper_bulk::{
    ActivityCreate, CompanyCreate, CompanyUpdate, InvalidRecord, LeadCreate, LeadUpdate,
    OpportunityCreate, PersonCreate, PersonUpdate,
};
use copper_bulk_cli::input::{Format, InputRecord, read};

/// Makes a panic on any thread abort the process. The readers parse on a
/// thread of their own, where a panic would otherwise only end that thread
/// and look to the caller like the end of the input.
pub fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        std::process::abort();
    }));
}

/// Reads `data` as records of the type its first byte selects, to the end.
///
/// Every record type the tool reads is reachable, so that one target
/// covers every record's checks.
pub fn read_all(format: Format, data: &[u8]) -> usize {
    let Some((selector, input)) = data.split_first() else {
        return 0;
    };
    match selector % 8 {
        0 => drain::<PersonUpdate>(format, input),
        1 => drain::<PersonCreate>(format, input),
        2 => drain::<CompanyUpdate>(format, input),
        3 => drain::<CompanyCreate>(format, input),
        4 => drain::<LeadUpdate>(format, input),
        5 => drain::<LeadCreate>(format, input),
        6 => drain::<OpportunityCreate>(format, input),
        _ => drain::<ActivityCreate>(format, input),
    }
}

/// How many results the reader gave for `input`.
fn drain<R: InputRecord>(format: Format, input: &[u8]) -> usize {
    let Ok(input) = read::<R>(Box::new(Cursor::new(input.to_vec())), format) else {
        return 0;
    };
    let mut records = input.records;
    let mut count = 0;
    while let Some(result) = records.blocking_recv() {
        // An invalid record must say where it is.
        if let Err(invalid) = &result {
            check_reason(invalid);
        }
        count += 1;
    }
    // Reading from memory cannot fail, and a panic of the reader has
    // already aborted the process.
    input.reading.end().expect("the input was read to its end");
    count
}

fn check_reason(invalid: &InvalidRecord) {
    assert!(
        invalid.reason().starts_with("line "),
        "an invalid record does not say its line: {invalid}"
    );
}
