//! Custom field values.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The value of a custom field, exactly as Copper sent it.
///
/// Its JSON type follows the field's definition (`data_type`), which the
/// value alone does not name: a Checkbox is a boolean; Float, Percentage and
/// Currency are numbers; String, Text and URL are text; a Dropdown is an
/// option id; a MultiSelect a list of option ids; a Date is unix seconds or
/// an `mm/dd/yyyy` text. Integers are kept as integers, so option ids and
/// timestamps are exact; anything else Copper may send is kept as it came.
///
/// A Percentage holds whole percents: send `34` for 34%, since Copper drops
/// the fraction without an error (`0.34` is stored as `0`). A Date Copper
/// sends is midnight in the account's time zone ([`CustomDate::Unix`]).
///
/// ```
/// use copper_bulk_raw::custom::{CustomDate, CustomValue};
///
/// let values: Vec<CustomValue> =
///     serde_json::from_str(r#"[null, true, 23, 4.5, "a", [1, 2], "03/14/2026"]"#).unwrap();
/// assert_eq!(values[2], CustomValue::Integer(23));
/// assert_eq!(values[5], CustomValue::Ids(vec![1, 2]));
/// assert_eq!(values[6].date(), Some(CustomDate::Text { month: 3, day: 14, year: 2026 }));
/// assert_eq!(
///     serde_json::to_string(&values).unwrap(),
///     r#"[null,true,23,4.5,"a",[1,2],"03/14/2026"]"#,
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum CustomValue {
    /// Unset; sent, it clears the field.
    #[default]
    Null,
    /// A Checkbox.
    Bool(bool),
    /// A whole number: a Dropdown option id, a Date in unix seconds, or a
    /// Float, Percentage or Currency without a fraction.
    Integer(i64),
    /// A number with a fraction (Float, Currency; a Percentage sent with a
    /// fraction loses it).
    Number(f64),
    /// Text: String, Text, URL, or a Date as `mm/dd/yyyy`.
    Text(String),
    /// A MultiSelect: option ids.
    Ids(Vec<i64>),
    /// Anything else, kept as Copper sent it.
    Other(Value),
}

/// A Date custom field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomDate {
    /// Unix time in seconds, as Copper's responses carry dates: midnight
    /// of the date in the account's time zone, not in UTC (`12/15/2020` in
    /// an account in Los Angeles is `1608019200`, 08:00 UTC). Convert it to
    /// a calendar date with the account's time zone: as a UTC date it is
    /// the day before in an account east of UTC.
    Unix(i64),
    /// A `mm/dd/yyyy` text, as Copper's documentation writes dates.
    Text {
        /// 1 to 12.
        month: u8,
        /// 1 to 31.
        day: u8,
        /// The year.
        year: u16,
    },
}

impl CustomValue {
    /// Whether the value is unset.
    pub fn is_null(&self) -> bool {
        matches!(self, CustomValue::Null)
    }

    /// The value as a Date, if it reads as one.
    pub fn date(&self) -> Option<CustomDate> {
        match self {
            CustomValue::Integer(seconds) => Some(CustomDate::Unix(*seconds)),
            CustomValue::Text(text) => {
                let mut parts = text.trim().split('/');
                let month: u8 = parts.next()?.parse().ok()?;
                let day: u8 = parts.next()?.parse().ok()?;
                let year: u16 = parts.next()?.parse().ok()?;
                let valid =
                    parts.next().is_none() && (1..=12).contains(&month) && (1..=31).contains(&day);
                valid.then_some(CustomDate::Text { month, day, year })
            }
            _ => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            CustomValue::Null => Value::Null,
            CustomValue::Bool(value) => Value::Bool(*value),
            CustomValue::Integer(value) => Value::from(*value),
            CustomValue::Number(value) => Value::from(*value),
            CustomValue::Text(value) => Value::String(value.clone()),
            CustomValue::Ids(ids) => Value::from(ids.clone()),
            CustomValue::Other(value) => value.clone(),
        }
    }
}

impl From<Value> for CustomValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => CustomValue::Null,
            Value::Bool(value) => CustomValue::Bool(value),
            Value::Number(number) => match (number.as_i64(), number.as_f64()) {
                (Some(integer), _) => CustomValue::Integer(integer),
                // A number past i64 (u64) is kept as Copper sent it rather
                // than rounded through a float.
                (None, Some(_)) if number.is_u64() => CustomValue::Other(Value::Number(number)),
                (None, Some(float)) => CustomValue::Number(float),
                (None, None) => CustomValue::Other(Value::Number(number)),
            },
            Value::String(text) => CustomValue::Text(text),
            Value::Array(items) => {
                let ids: Option<Vec<i64>> = items.iter().map(Value::as_i64).collect();
                match ids {
                    Some(ids) => CustomValue::Ids(ids),
                    None => CustomValue::Other(Value::Array(items)),
                }
            }
            other @ Value::Object(_) => CustomValue::Other(other),
        }
    }
}

impl From<bool> for CustomValue {
    fn from(value: bool) -> Self {
        CustomValue::Bool(value)
    }
}

impl From<i64> for CustomValue {
    fn from(value: i64) -> Self {
        CustomValue::Integer(value)
    }
}

impl From<f64> for CustomValue {
    fn from(value: f64) -> Self {
        CustomValue::Number(value)
    }
}

impl From<&str> for CustomValue {
    fn from(value: &str) -> Self {
        CustomValue::Text(value.to_owned())
    }
}

impl From<String> for CustomValue {
    fn from(value: String) -> Self {
        CustomValue::Text(value)
    }
}

impl From<Vec<i64>> for CustomValue {
    fn from(ids: Vec<i64>) -> Self {
        CustomValue::Ids(ids)
    }
}

impl<T: Into<CustomValue>> From<Option<T>> for CustomValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(CustomValue::Null, Into::into)
    }
}

impl Serialize for CustomValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CustomValue::Null => serializer.serialize_none(),
            CustomValue::Bool(value) => serializer.serialize_bool(*value),
            CustomValue::Integer(value) => serializer.serialize_i64(*value),
            CustomValue::Number(value) => serializer.serialize_f64(*value),
            CustomValue::Text(value) => serializer.serialize_str(value),
            CustomValue::Ids(ids) => ids.serialize(serializer),
            CustomValue::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CustomValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(CustomValue::from)
    }
}

impl JsonSchema for CustomValue {
    fn schema_name() -> Cow<'static, str> {
        "CustomFieldValueData".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Anything: a value of a kind the spec does not list is kept, not
        // refused.
        json_schema!({
            "description": "A custom field value: a boolean, a number, a text, a list of option ids or null, as the field's definition says."
        })
    }
}
