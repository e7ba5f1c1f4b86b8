//! Reading the cells of a CSV row: numbers, tags, and the address, e-mail,
//! phone and website that several columns make up.

use copper_bulk::{Address, EmailInput, Patch, PhoneNumberInput, WebsiteInput};

/// A cell: `None` when empty or not in the header.
pub type Cell = Option<String>;

/// An update's change of one field: an empty cell leaves it unchanged.
pub fn change<T>(cell: Option<T>) -> Patch<T> {
    cell.map_or(Patch::Absent, Patch::Value)
}

/// The id an update names.
pub fn id(cell: Cell) -> Result<i64, String> {
    integer("id", cell)?.ok_or_else(|| "`id` is empty; an update needs the record's id".to_owned())
}

/// The name a create needs.
pub fn name(cell: Cell) -> Result<String, String> {
    cell.ok_or_else(|| "`name` is empty; a create needs a name".to_owned())
}

/// A whole number.
pub fn integer(column: &str, cell: Cell) -> Result<Option<i64>, String> {
    cell.map(|text| {
        text.parse()
            .map_err(|_| format!("`{column}` is `{text}`, not a number"))
    })
    .transpose()
}

/// A number, with or without a fraction.
pub fn number(column: &str, cell: Cell) -> Result<Option<f64>, String> {
    cell.map(|text| {
        text.parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| format!("`{column}` is `{text}`, not a number"))
    })
    .transpose()
}

/// `tags`, separated by `;`.
pub fn tags(cell: Cell) -> Option<Vec<String>> {
    cell.map(|tags| {
        tags.split(';')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The address, when any of its cells is given.
pub fn address(
    street: Cell,
    city: Cell,
    state: Cell,
    postal_code: Cell,
    country: Cell,
) -> Option<Address> {
    let given = [&street, &city, &state, &postal_code, &country]
        .iter()
        .any(|cell| cell.is_some());
    given.then_some(Address {
        street,
        city,
        state,
        postal_code,
        country,
    })
}

/// A value column and its category column, such as `email` and
/// `email_category`: the category alone is an error.
pub fn with_category(
    column: &str,
    value: Cell,
    category: Cell,
) -> Result<Option<(String, Option<String>)>, String> {
    match (value, category) {
        (None, Some(_)) => Err(format!(
            "`{column}_category` is set but `{column}` is empty"
        )),
        (None, None) => Ok(None),
        (Some(value), category) => Ok(Some((value, category))),
    }
}

/// The record's one e-mail.
pub fn email(email: Cell, category: Cell) -> Result<Option<EmailInput>, String> {
    Ok(
        with_category("email", email, category)?.map(|(email, category)| EmailInput {
            email,
            category: category.map(Into::into),
        }),
    )
}

/// The record's one phone number.
pub fn phone(number: Cell, category: Cell) -> Result<Option<PhoneNumberInput>, String> {
    Ok(
        with_category("phone", number, category)?.map(|(number, category)| PhoneNumberInput {
            number,
            category: category.map(Into::into),
        }),
    )
}

/// The record's one website.
pub fn website(url: Cell, category: Cell) -> Result<Option<WebsiteInput>, String> {
    Ok(
        with_category("website", url, category)?.map(|(url, category)| WebsiteInput {
            url,
            category: category.map(Into::into),
        }),
    )
}
