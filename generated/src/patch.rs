//! The three states of a field in an update record.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of an update: left out, cleared, or set.
///
/// Copper changes only the fields an update sends, and clears a field sent
/// as `null`. `Option<T>` cannot say both "leave it" and "clear it", so the
/// update records use this type for every field the spec lets be `null`.
///
/// A `Patch` field is skipped when [`Patch::Absent`], serialized as `null`
/// when [`Patch::Null`] and as the value when [`Patch::Value`]:
///
/// ```
/// use copper_bulk_raw::{patch::Patch, types::PersonUpdate};
///
/// let update = PersonUpdate {
///     title: Patch::Null,
///     details: Patch::Value("VIP".to_owned()),
///     ..PersonUpdate::new(7)
/// };
/// assert_eq!(
///     serde_json::to_string(&update).unwrap(),
///     r#"{"details":"VIP","id":7,"title":null}"#,
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Leave the field unchanged: it is not sent.
    #[default]
    Absent,
    /// Clear the field: it is sent as `null`.
    Null,
    /// Set the field to this value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out of the request.
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The value to set, if any.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Value(value) => Some(value),
            Patch::Absent | Patch::Null => None,
        }
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(value) => Patch::Value(value),
        }
    }

    /// Applies `f` to the value, keeping the state otherwise.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(value) => Patch::Value(f(value)),
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reached when a container does not skip absent fields.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Value(value) => serializer.serialize_some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// `null` becomes [`Patch::Null`]; a missing field becomes
    /// [`Patch::Absent`] through the field's `#[serde(default)]`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Null,
            Some(value) => Patch::Value(value),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Patch<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        Option::<T>::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}
