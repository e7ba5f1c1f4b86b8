//! Builds a bulk update with the raw client's types and prints its body.

use copper_bulk_raw::patch::Patch;
use copper_bulk_raw::types::{PeopleBulkUpdateRequest, PersonUpdate};

fn main() {
    let body = PeopleBulkUpdateRequest {
        people: vec![PersonUpdate {
            title: Patch::Null,
            ..PersonUpdate::new(12345)
        }],
    };
    println!("{}", serde_json::to_string(&body).expect("serializable"));
}
