//! What Copper echoes of a record, normalized, and how the echo of a
//! record sent and of an item returned compare.

use std::fmt;

use serde_json::Value;

/// A value as Copper may echo it, normalized so that Copper's own tidying
/// (trimmed text, letter case, a phone number's punctuation, the order of
/// a list) is not taken for a different value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Echoed {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A list whose order Copper need not keep: sorted, without repeats.
    Set(Vec<String>),
}

impl Echoed {
    /// Whether Copper's value `returned` differs from `self`, the value
    /// sent. Values of different kinds are not compared: Copper converts
    /// some custom field values (a date sent as text comes back as a
    /// timestamp).
    pub(crate) fn differs(&self, returned: &Echoed) -> bool {
        match (self, returned) {
            (Echoed::Text(a), Echoed::Text(b)) => a != b,
            (Echoed::Number(a), Echoed::Number(b)) => a != b,
            (Echoed::Bool(a), Echoed::Bool(b)) => a != b,
            (Echoed::Set(a), Echoed::Set(b)) => a != b,
            _ => false,
        }
    }
}

impl fmt::Display for Echoed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Echoed::Text(text) => write!(f, "{text:?}"),
            Echoed::Number(number) => write!(f, "{number}"),
            Echoed::Bool(flag) => write!(f, "{flag}"),
            Echoed::Set(items) => write!(f, "{items:?}"),
        }
    }
}

/// How one field Copper echoes is compared, so that Copper's own tidying
/// is not taken for a different value.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Compare {
    /// Text that Copper may trim, space differently or change the case of
    /// (a name, free text, an enum's value).
    Text,
    /// A number Copper returns as sent (an id, a date in unix seconds).
    Number,
    /// Texts in any order: a list of texts (tags), or of objects whose
    /// text at this key counts (`emails`' `email`), or one such object.
    Texts(Option<&'static str>),
    /// Phone numbers, by their digits alone: Copper may format a number.
    PhoneNumbers,
    /// A `mm/dd/yyyy` date, by its numbers: Copper drops leading zeros.
    Date,
    /// An object of texts and numbers (an activity's parent or type).
    Object,
    /// Custom field values, each definition a field. Values of different
    /// kinds are not compared: Copper converts some (a date sent as text
    /// comes back as a timestamp).
    CustomFields,
}

/// The fields of a record that Copper echoes, each normalized as its
/// [`Compare`] says. Read alike from the record sent (the fields it sets)
/// and from the record returned (the fields it has); an absent, `null` or
/// empty field is left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Echo(Vec<(String, Echoed)>);

impl Echo {
    /// The `fields` of `record`, as JSON.
    pub(crate) fn read(record: &Value, fields: &[(&str, Compare)]) -> Self {
        let mut echo = Echo::default();
        for &(field, compare) in fields {
            let Some(value) = record.get(field).filter(|value| !value.is_null()) else {
                continue;
            };
            match compare {
                Compare::CustomFields => {
                    for custom in value.as_array().into_iter().flatten() {
                        let (Some(id), Some(value)) = (
                            custom.get("custom_field_definition_id"),
                            custom.get("value"),
                        ) else {
                            continue;
                        };
                        echo.push(format!("custom field {id}"), custom_value(value));
                    }
                }
                _ => echo.push(field.to_owned(), echoed(value, compare)),
            }
        }
        echo
    }

    fn push(&mut self, field: String, value: Option<Echoed>) {
        if let Some(value) = value {
            self.0.push((field, value));
        }
    }

    /// The first field `self` (sent) sets that `returned` carries with
    /// another value. A field Copper returned empty is not compared here:
    /// if Copper ever stops echoing a field, a record's own item is not
    /// taken for another's, which would make every record unknown.
    pub(crate) fn mismatch<'a>(
        &'a self,
        returned: &'a Echo,
    ) -> Option<(&'a str, &'a Echoed, &'a Echoed)> {
        self.0.iter().find_map(|(field, sent)| {
            let got = returned.get(field)?;
            sent.differs(got).then_some((field.as_str(), sent, got))
        })
    }

    /// Whether `returned` could be the answer to this record: whether no
    /// field `self` (sent) sets comes back with another value. A field
    /// Copper returned empty counts as this record's, as in
    /// [`Echo::mismatch`]: were it proof of another record, two records
    /// told apart only by a field Copper drops could be answered swapped
    /// and each be reported applied with the other's id.
    pub(crate) fn echoed_by(&self, returned: &Echo) -> bool {
        self.mismatch(returned).is_none()
    }

    pub(crate) fn get(&self, field: &str) -> Option<&Echoed> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value)
    }
}

/// Text as Copper may echo it: trimmed, inner spaces collapsed, in lower
/// case, so that Copper's own tidying is not taken for a mismatch.
pub(crate) fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `value` of a field compared as `compare` says; `None` when there is
/// nothing to compare (an empty list, a value of another shape).
pub(crate) fn echoed(value: &Value, compare: Compare) -> Option<Echoed> {
    let items = || match value {
        Value::Array(items) => items.iter().collect(),
        item => vec![item],
    };
    match compare {
        Compare::Text => value.as_str().map(|text| Echoed::Text(normalized(text))),
        Compare::Number => value.as_f64().map(Echoed::Number),
        Compare::Texts(key) => set(items().into_iter().filter_map(|item| {
            key.map_or(Some(item), |key| item.get(key))
                .and_then(Value::as_str)
                .map(normalized)
        }))
        .map(Echoed::Set),
        Compare::PhoneNumbers => set(items().into_iter().filter_map(|item| {
            let number = item.get("number")?.as_str()?;
            Some(number.chars().filter(char::is_ascii_digit).collect())
        }))
        .map(Echoed::Set),
        Compare::Date => value.as_str().map(|date| Echoed::Text(date_numbers(date))),
        Compare::Object => value.as_object().map(|fields| {
            let mut parts: Vec<String> = fields
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) => format!("{key}={}", normalized(text)),
                    other => format!("{key}={other}"),
                })
                .collect();
            parts.sort();
            Echoed::Text(parts.join(" "))
        }),
        Compare::CustomFields => None,
    }
}

/// A custom field's value; `None` for `null`, which Copper returns for
/// every definition the record does not set.
pub(crate) fn custom_value(value: &Value) -> Option<Echoed> {
    match value {
        Value::Bool(flag) => Some(Echoed::Bool(*flag)),
        Value::Number(number) => number.as_f64().map(Echoed::Number),
        Value::String(text) => Some(Echoed::Text(normalized(text))),
        Value::Array(ids) => set(ids.iter().map(|id| match id.as_f64() {
            Some(number) => number.to_string(),
            None => id.to_string(),
        }))
        .map(Echoed::Set),
        _ => None,
    }
}

/// A date's numbers, without leading zeros: `01/14/2020` as `1/14/2020`.
pub(crate) fn date_numbers(date: &str) -> String {
    date.split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<u64>()
                .map_or_else(|_| part.to_owned(), |n| n.to_string())
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn set(values: impl Iterator<Item = String>) -> Option<Vec<String>> {
    let mut values: Vec<String> = values.filter(|value| !value.is_empty()).collect();
    values.sort();
    values.dedup();
    (!values.is_empty()).then_some(values)
}
