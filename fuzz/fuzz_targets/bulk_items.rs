//! The decoder of bulk response items, on any bytes: whenever the bytes are
//! a JSON array, every entity's decoder reads it with one item per element,
//! and an item that says `success: false` is a failure.

use copper_bulk_raw::bulk::BulkItem;
use copper_bulk_raw::types::{
    Activity, BulkCreateFailure, BulkUpdateFailure, Company, Lead, Opportunity, Person,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes `data` as items of `T` and `F`, and checks them against the
/// elements of `array`, the same bytes read as plain JSON.
fn check<T: DeserializeOwned, F: DeserializeOwned>(data: &[u8], array: Option<&[Value]>) {
    let decoded = serde_json::from_slice::<Vec<BulkItem<T, F>>>(data);
    let Some(array) = array else {
        return;
    };
    let items = decoded.expect("a JSON array always decodes");
    assert_eq!(items.len(), array.len());
    for (item, raw) in items.iter().zip(array) {
        let says_failure = raw.get("success") == Some(&Value::Bool(false));
        assert_eq!(item.is_failure(), says_failure);
        if let BulkItem::Unrecognized(unrecognized) = item {
            assert_eq!(&unrecognized.raw, raw);
        }
    }
}

fn main() {
    copper_bulk_fuzz::abort_on_panic();
    afl::fuzz!(|data: &[u8]| {
        let array = serde_json::from_slice::<Vec<Value>>(data).ok();
        let array = array.as_deref();
        check::<Person, BulkUpdateFailure>(data, array);
        check::<Person, BulkCreateFailure>(data, array);
        check::<Company, BulkUpdateFailure>(data, array);
        check::<Lead, BulkUpdateFailure>(data, array);
        check::<Lead, BulkCreateFailure>(data, array);
        check::<Opportunity, BulkCreateFailure>(data, array);
        check::<Activity, BulkCreateFailure>(data, array);
    });
}
