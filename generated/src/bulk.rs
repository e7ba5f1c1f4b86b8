//! The success-or-failure item of a bulk response.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The result for one record of a bulk request: the record Copper returned,
/// Copper's failure item, or an item neither decodes as.
///
/// The spec describes the item as a `oneOf`; progenitor would decode that by
/// trying the members in order, which misreads items whenever the order or
/// the members' required fields change, and fails the whole response when a
/// single item matches neither. This type decides on the one field that
/// tells the two apart, `success: false`, which a record never carries, and
/// keeps an item it cannot decode as raw JSON beside the reason, so the rest
/// of the batch is still read.
///
/// ```
/// use copper_bulk_raw::{bulk::BulkItem, types::{BulkUpdateFailure, Person}};
///
/// let items: Vec<BulkItem<Person, BulkUpdateFailure>> = serde_json::from_str(
///     r#"[{"id": 1, "name": "Ada"},
///         {"success": false, "message": {"name": [{"error": "invalid"}]}, "id": 2},
///         42]"#,
/// ).unwrap();
/// assert!(matches!(&items[0], BulkItem::Ok(person) if person.name == "Ada"));
/// assert!(matches!(&items[1], BulkItem::Failed(failure) if failure.id == 2));
/// assert!(matches!(&items[2], BulkItem::Unrecognized(_)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum BulkItem<T, F> {
    /// Copper applied the record and returned it in full.
    Ok(T),
    /// Copper did not apply the record and said why.
    Failed(F),
    /// An item that is neither: kept so that it can be reported.
    Unrecognized(Unrecognized),
}

/// An item of a bulk response that decodes as neither a record nor a
/// failure item.
#[derive(Clone, Debug, PartialEq)]
pub struct Unrecognized {
    /// The item as Copper sent it.
    pub raw: Value,
    /// Why it did not decode.
    pub error: String,
}

impl<T, F> BulkItem<T, F> {
    /// Whether the item says `success: false`, whatever else it holds.
    ///
    /// True for every [`BulkItem::Failed`], and for an
    /// [`BulkItem::Unrecognized`] item that carries `success: false` but not
    /// in the documented shape: Copper did not apply that record either.
    pub fn is_failure(&self) -> bool {
        match self {
            BulkItem::Ok(_) => false,
            BulkItem::Failed(_) => true,
            BulkItem::Unrecognized(item) => item.is_failure(),
        }
    }
}

impl Unrecognized {
    /// Whether the item says `success: false`: Copper did not apply its
    /// record, though it explained why in no documented shape.
    pub fn is_failure(&self) -> bool {
        says_failure(&self.raw)
    }
}

fn says_failure(raw: &Value) -> bool {
    raw.get("success") == Some(&Value::Bool(false))
}

impl<'de, T: DeserializeOwned, F: DeserializeOwned> Deserialize<'de> for BulkItem<T, F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        let decoded = if says_failure(&raw) {
            F::deserialize(&raw).map(BulkItem::Failed)
        } else if raw.is_object() {
            T::deserialize(&raw).map(BulkItem::Ok)
        } else {
            Err(serde::de::Error::custom("expected a JSON object"))
        };
        Ok(decoded.unwrap_or_else(|error: serde_json::Error| {
            BulkItem::Unrecognized(Unrecognized {
                raw,
                error: error.to_string(),
            })
        }))
    }
}

impl<T: Serialize, F: Serialize> Serialize for BulkItem<T, F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            BulkItem::Ok(record) => record.serialize(serializer),
            BulkItem::Failed(failure) => failure.serialize(serializer),
            BulkItem::Unrecognized(item) => item.raw.serialize(serializer),
        }
    }
}

impl<T: JsonSchema, F: JsonSchema> JsonSchema for BulkItem<T, F> {
    fn schema_name() -> Cow<'static, str> {
        format!("BulkItem_{}_{}", T::schema_name(), F::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "oneOf": [generator.subschema_for::<F>(), generator.subschema_for::<T>()]
        })
    }
}
