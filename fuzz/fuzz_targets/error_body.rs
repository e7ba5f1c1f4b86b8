//! The decoder of whole-request error bodies, on any bytes: it never fails
//! and never panics, and a body with a message gives it back.

use copper_bulk_raw::error_body::ErrorBody;

fn main() {
    copper_bulk_fuzz::abort_on_panic();
    afl::fuzz!(|data: &[u8]| {
        let body = ErrorBody::parse(data);
        let _ = body.message();
        if data.iter().all(u8::is_ascii_whitespace) {
            assert_eq!(body, ErrorBody::Empty);
        }
    });
}
