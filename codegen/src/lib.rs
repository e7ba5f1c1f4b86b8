//! Turns copper-bulk's OpenAPI spec into the Rust source of the raw client.
//!
//! This crate is the one owner of the generation settings: the raw client's
//! build script and `cargo xtask regen` both call [`generate`], so the client
//! compiled into a build and the reviewable copy checked into the repository
//! can never be made with different settings.
//!
//! Three steps happen between the spec and the source, each documented on
//! its function:
//!
//! 1. [`adapt_for_progenitor`] removes, in memory, the constructs of the
//!    shared spec that progenitor cannot take. The file itself stays truthful
//!    for every other generator.
//! 2. [`settings`] chooses the interface and swaps a few schemas for
//!    hand-written types of the raw crate (the success-or-failure item, the
//!    string enums, custom field values), which decode more robustly than
//!    what progenitor would generate.
//! 3. [`postprocess`] rewrites the generated update records so that every
//!    nullable field can be left out, cleared with `null` or set, gives them
//!    a constructor and setters, and writes the open enums.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TypeImpl};
use quote::quote;
use syn::visit_mut::VisitMut;

/// The path, inside the raw crate's package, of the hand-written type that
/// holds the three states of an update field.
pub const PATCH_TYPE: &str = "crate::patch::Patch";

/// Why the spec could not be turned into Rust source.
#[derive(Debug)]
pub enum Error {
    /// The spec file could not be read.
    Read(std::path::PathBuf, std::io::Error),
    /// The spec is not an OpenAPI 3.0 document.
    Parse(String),
    /// progenitor refused the spec.
    Progenitor(String),
    /// progenitor produced tokens that are not a Rust file.
    Syntax(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            Error::Parse(e) => write!(f, "the spec is not an OpenAPI 3.0 document: {e}"),
            Error::Progenitor(e) => write!(f, "progenitor refused the spec: {e}"),
            Error::Syntax(e) => write!(f, "progenitor produced invalid Rust: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Reads and parses the YAML spec at `path`.
pub fn load_spec(path: &Path) -> Result<OpenAPI, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read(path.to_owned(), e))?;
    parse_spec(&text)
}

/// Parses the text of a YAML (or JSON) spec.
pub fn parse_spec(text: &str) -> Result<OpenAPI, Error> {
    serde_norway::from_str(text).map_err(|e| Error::Parse(e.to_string()))
}

/// What [`adapt_for_progenitor`] changed, for the record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Adaptations {
    /// `(operation id, status)` of every response removed.
    pub removed_responses: Vec<(String, String)>,
    /// The nullable object schemas whose references were rewritten.
    pub nullable_objects: Vec<String>,
}

/// Changes, in an in-memory copy of the spec, what progenitor cannot take.
/// The shared file is never changed; only the copy handed to progenitor is.
///
/// **Error responses.** progenitor 0.15 supports one body type for all the
/// error responses of an operation: a second schema, a response without a
/// body or a `default` response make it panic (`assertion failed:
/// response_types.len() <= 1`, progenitor issues #950 and #344). The shared
/// spec truthfully declares 401 without a body, 422 with a JSON body and 429
/// without a body, so every non-2xx response is removed from the copy. The
/// generated client then returns each of them as
/// `Error::UnexpectedResponse`, which keeps the status, the headers
/// (`Retry-After`) and the body, where a declared error whose body does not
/// match its schema would come back as `Error::InvalidResponsePayload`
/// without status or headers. The raw crate decodes the 422 body by hand
/// from the generated `BulkRequestError` type, which the components still
/// define.
///
/// **Nullable objects.** A property that may be `null` or an object (an
/// address) is written in the spec as a reference to an object schema marked
/// `nullable`, the only form that JSON Schema validators accept for `null`
/// (with `nullable` beside an `allOf`, `null` still has to pass the
/// referenced schema). typify turns that form into a newtype around
/// `Option<...Inner>`, which would be `Option<Address(Option<AddressInner>)>`
/// in a response. In the copy, the object schema loses `nullable` and each
/// reference to it becomes `{nullable: true, allOf: [$ref]}`, which typify
/// turns into a plain `Option<Address>`.
pub fn adapt_for_progenitor(spec: &mut OpenAPI) -> Adaptations {
    let mut adaptations = Adaptations::default();
    for (_, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let id = op.operation_id.clone().unwrap_or_default();
            if op.responses.default.take().is_some() {
                adaptations
                    .removed_responses
                    .push((id.clone(), "default".into()));
            }
            op.responses.responses.retain(|status, _| {
                let success = status.to_string().starts_with('2');
                if !success {
                    adaptations
                        .removed_responses
                        .push((id.clone(), status.to_string()));
                }
                success
            });
        }
    }

    let Some(components) = spec.components.as_mut() else {
        return adaptations;
    };
    for (name, schema) in components.schemas.iter_mut() {
        if let ReferenceOr::Item(schema) = schema
            && schema.schema_data.nullable
            && matches!(schema.schema_kind, SchemaKind::Type(Type::Object(_)))
        {
            schema.schema_data.nullable = false;
            adaptations.nullable_objects.push(name.clone());
        }
    }
    let nullable: Vec<String> = adaptations
        .nullable_objects
        .iter()
        .map(|name| format!("#/components/schemas/{name}"))
        .collect();
    for (_, schema) in components.schemas.iter_mut() {
        if let ReferenceOr::Item(schema) = schema {
            wrap_nullable_references(schema, &nullable);
        }
    }
    adaptations
}

/// Rewrites, inside `schema`, each property that references one of
/// `targets` to `{nullable: true, allOf: [$ref]}`.
fn wrap_nullable_references(schema: &mut Schema, targets: &[String]) {
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(object)) => {
            for property in object.properties.values_mut() {
                match property {
                    ReferenceOr::Reference { reference } if targets.contains(reference) => {
                        let reference = reference.clone();
                        *property = ReferenceOr::Item(Box::new(Schema {
                            schema_data: openapiv3::SchemaData {
                                nullable: true,
                                ..Default::default()
                            },
                            schema_kind: SchemaKind::AllOf {
                                all_of: vec![ReferenceOr::Reference { reference }],
                            },
                        }));
                    }
                    ReferenceOr::Item(inner) => wrap_nullable_references(inner, targets),
                    ReferenceOr::Reference { .. } => {}
                }
            }
        }
        SchemaKind::Type(Type::Array(array)) => {
            if let Some(ReferenceOr::Item(items)) = &mut array.items {
                wrap_nullable_references(items, targets);
            }
        }
        SchemaKind::OneOf { one_of: members }
        | SchemaKind::AllOf { all_of: members }
        | SchemaKind::AnyOf { any_of: members } => {
            for member in members {
                if let ReferenceOr::Item(member) = member {
                    wrap_nullable_references(member, targets);
                }
            }
        }
        _ => {}
    }
}

/// Whether a record schema is sent to a bulk create or a bulk update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// An item of a `/bulk_create` request.
    Create,
    /// An item of a `/bulk_update` request.
    Update,
}

/// The schemas of the records the bulk endpoints take: the item type of the
/// request body of every operation whose path ends in `/bulk_create` or
/// `/bulk_update`. [`postprocess`] works on these.
pub fn record_schemas(spec: &OpenAPI) -> BTreeMap<String, RecordKind> {
    let mut records = BTreeMap::new();
    for (path, item) in spec.paths.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let kind = if path.ends_with("/bulk_update") {
            RecordKind::Update
        } else if path.ends_with("/bulk_create") {
            RecordKind::Create
        } else {
            continue;
        };
        for (_, op) in item.iter() {
            let Some(ReferenceOr::Item(body)) = &op.request_body else {
                continue;
            };
            for media in body.content.values() {
                let Some(schema) = media.schema.as_ref().and_then(|s| resolve(spec, s)) else {
                    continue;
                };
                let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
                    continue;
                };
                for property in object.properties.values() {
                    let ReferenceOr::Item(property) = property else {
                        continue;
                    };
                    if let SchemaKind::Type(Type::Array(array)) = &property.schema_kind
                        && let Some(ReferenceOr::Reference { reference }) = &array.items
                    {
                        records.insert(schema_name(reference).to_owned(), kind);
                    }
                }
            }
        }
    }
    records
}

/// The schemas of the request bodies of the search operations: every
/// operation whose path ends in `/search`. They are built field by field
/// like the records, so [`postprocess`] gives them the same constructor and
/// setters.
pub fn search_request_schemas(spec: &OpenAPI) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (path, item) in spec.paths.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        if !path.ends_with("/search") {
            continue;
        }
        for (_, op) in item.iter() {
            let Some(ReferenceOr::Item(body)) = &op.request_body else {
                continue;
            };
            for media in body.content.values() {
                if let Some(ReferenceOr::Reference { reference }) = &media.schema {
                    found.insert(schema_name(reference).to_owned());
                }
            }
        }
    }
    found
}

/// The required properties of schema `name`, in the spec's order.
fn required_properties(spec: &OpenAPI, name: &str) -> Vec<String> {
    match object_schema(spec, name) {
        Some(object) => object.required.clone(),
        None => Vec::new(),
    }
}

fn object_schema<'a>(spec: &'a OpenAPI, name: &str) -> Option<&'a openapiv3::ObjectType> {
    let schema = spec.components.as_ref()?.schemas.get(name)?;
    match &resolve(spec, schema)?.schema_kind {
        SchemaKind::Type(Type::Object(object)) => Some(object),
        _ => None,
    }
}

/// The nullable, optional properties of schema `name`: the fields that
/// have three states in an update.
fn nullable_optional_properties(spec: &OpenAPI, name: &str) -> BTreeSet<String> {
    let Some(object) = object_schema(spec, name) else {
        return BTreeSet::new();
    };
    object
        .properties
        .iter()
        .filter(|(field, _)| !object.required.contains(field))
        .filter(|(_, property)| match property {
            ReferenceOr::Item(property) => property.schema_data.nullable,
            ReferenceOr::Reference { reference } => {
                resolve_ref(spec, reference).is_some_and(|s| s.schema_data.nullable)
            }
        })
        .map(|(field, _)| field.clone())
        .collect()
}

fn schema_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn resolve_ref<'a>(spec: &'a OpenAPI, reference: &str) -> Option<&'a Schema> {
    let schema = spec
        .components
        .as_ref()?
        .schemas
        .get(schema_name(reference))?;
    resolve(spec, schema)
}

fn resolve<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> Option<&'a Schema> {
    match schema {
        ReferenceOr::Item(schema) => Some(schema),
        ReferenceOr::Reference { reference } => resolve_ref(spec, reference),
    }
}

/// The schemas swapped for hand-written types of the raw crate, as
/// `(schema name, Rust type)`.
///
/// - The success-or-failure items become `BulkItem<Record, Failure>`, which
///   decides on `success == false` instead of trying the `oneOf` members in
///   order, and keeps an item that matches neither shape as raw JSON instead
///   of failing the whole response.
/// - The string enums (categories, priorities, statuses) become open enums
///   that keep a value Copper adds later instead of refusing it.
/// - A custom field's value becomes a type that keeps every kind of value
///   exactly.
pub fn replacements(spec: &OpenAPI) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(components) = &spec.components else {
        return out;
    };
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        if name.ends_with("BulkUpdateItem") {
            if let Some(success) = one_of_success_member(schema) {
                out.push((
                    name.clone(),
                    format!("crate::bulk::BulkItem<crate::types::{success}, crate::types::BulkUpdateFailure>"),
                ));
            }
        } else if name.ends_with("BulkCreateItem") {
            if let Some(success) = one_of_success_member(schema) {
                out.push((
                    name.clone(),
                    format!("crate::bulk::BulkItem<crate::types::{success}, crate::types::BulkCreateFailure>"),
                ));
            }
        } else if is_string_enum(schema) {
            out.push((name.clone(), format!("crate::types::{name}")));
        } else if name == CUSTOM_VALUE_SCHEMA {
            out.push((name.clone(), CUSTOM_VALUE_TYPE.to_owned()));
        }
    }
    out
}

/// The schema of a custom field's value, and the hand-written type that
/// reads every documented kind of value without loss (typify would make
/// the number branch an `f64`, losing large option ids and integers).
const CUSTOM_VALUE_SCHEMA: &str = "CustomFieldValueData";
const CUSTOM_VALUE_TYPE: &str = "crate::custom::CustomValue";

/// The member of a success-or-failure `oneOf` that is not a failure.
fn one_of_success_member(schema: &Schema) -> Option<String> {
    let SchemaKind::OneOf { one_of } = &schema.schema_kind else {
        return None;
    };
    one_of.iter().find_map(|member| match member {
        ReferenceOr::Reference { reference } if !schema_name(reference).ends_with("Failure") => {
            Some(schema_name(reference).to_owned())
        }
        _ => None,
    })
}

/// The progenitor settings of the raw client.
///
/// - Positional interface: the facade is the ergonomic layer, so the raw
///   client stays small (`client.people_bulk_update(None, &body)`).
/// - `HooksMode::Expected`: the raw crate must implement `ClientHooks`
///   (auth headers, rate limiting, retries, tracing), or it does not compile.
/// - `BTreeMap` for maps, so field errors come out in a stable order.
/// - `PartialEq` and `schemars::JsonSchema` on every type: the tests compare
///   the schema of each hand-written replacement with the spec.
pub fn settings(spec: &OpenAPI) -> GenerationSettings {
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_inner_type(quote!(crate::hooks::Inner))
        .with_hooks(HooksMode::Expected)
        .with_map_type("::std::collections::BTreeMap")
        .with_derive("PartialEq")
        .with_derive("schemars::JsonSchema");
    for (schema, rust) in replacements(spec) {
        settings.with_replacement(schema, rust, std::iter::empty::<TypeImpl>());
    }
    settings
}

/// Adds to the generated code what progenitor cannot express.
///
/// - Update records: each nullable, optional field becomes a `Patch<T>`
///   (absent, `null` or a value) instead of an `Option<T>`, which cannot
///   send an explicit `null`. Which fields are rewritten comes from the spec:
///   the nullable, optional properties of every update record (see
///   [`record_schemas`]). A field that cannot be null (such as `name`) stays
///   an `Option<T>`, so the types cannot express a request the spec forbids.
/// - Every type a request can carry (see [`input_schemas`]) gets a `new`
///   that takes its required fields, in the spec's order, and leaves every
///   other field out, and a chained setter per optional field; a three-state
///   field also gets `clear_<field>()` and `leave_<field>()`.
/// - String enums: an open enum in the `types` module (see
///   [`replacements`]) for every string enum of the spec, made from the
///   values the spec lists, so the Rust values cannot drift from the spec.
pub fn postprocess(spec: &OpenAPI, file: &mut syn::File) {
    let records = record_schemas(spec);
    let mut rewriter = InputRewriter {
        inputs: input_schemas(spec)
            .into_iter()
            .map(|name| Input {
                three_state: match records.get(&name) {
                    Some(RecordKind::Update) => nullable_optional_properties(spec, &name),
                    _ => BTreeSet::new(),
                },
                required: required_properties(spec, &name),
                name,
            })
            .collect(),
        impls: Vec::new(),
    };
    rewriter.visit_file_mut(file);
    let impls = rewriter.impls;
    if let Some(types) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "types" => module.content.as_mut(),
        _ => None,
    }) {
        types.1.extend(impls);
        types.1.extend(open_enums(spec));
    }
}

/// The object schemas a request can carry: the records (see
/// [`record_schemas`]), the search requests (see [`search_request_schemas`])
/// and every object schema they refer to, directly or not (addresses,
/// e-mails, custom fields, ...).
pub fn input_schemas(spec: &OpenAPI) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut queue: Vec<String> = record_schemas(spec).into_keys().collect();
    queue.extend(search_request_schemas(spec));
    while let Some(name) = queue.pop() {
        if object_schema(spec, &name).is_none() || !found.insert(name.clone()) {
            continue;
        }
        let Some(ReferenceOr::Item(schema)) =
            spec.components.as_ref().and_then(|c| c.schemas.get(&name))
        else {
            continue;
        };
        collect_references(schema, &mut queue);
    }
    found
}

fn collect_references(schema: &Schema, out: &mut Vec<String>) {
    let mut visit = |member: &ReferenceOr<Schema>| match member {
        ReferenceOr::Reference { reference } => out.push(schema_name(reference).to_owned()),
        ReferenceOr::Item(inner) => collect_references(inner, out),
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(object)) => {
            for property in object.properties.values() {
                visit(&property.clone().unbox());
            }
        }
        SchemaKind::Type(Type::Array(array)) => {
            if let Some(items) = &array.items {
                visit(&items.clone().unbox());
            }
        }
        SchemaKind::OneOf { one_of: members }
        | SchemaKind::AllOf { all_of: members }
        | SchemaKind::AnyOf { any_of: members } => members.iter().for_each(visit),
        _ => {}
    }
}

struct Input {
    name: String,
    /// JSON names of the fields that become `Patch<T>`.
    three_state: BTreeSet<String>,
    /// JSON names of the fields `new` takes.
    required: Vec<String>,
}

struct InputRewriter {
    inputs: Vec<Input>,
    impls: Vec<syn::Item>,
}

impl VisitMut for InputRewriter {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        let name = item.ident.to_string();
        let Some(input) = self.inputs.iter().find(|input| input.name == name) else {
            return;
        };
        let patch: syn::Path = syn::parse_str(PATCH_TYPE).expect("PATCH_TYPE is a path");
        let is_absent = format!("{PATCH_TYPE}::is_absent");
        let mut required = Vec::new();
        let mut others = Vec::new();
        for field in item.fields.iter_mut() {
            let Some(ident) = field.ident.clone() else {
                continue;
            };
            let json = json_name(field);
            if let Some(position) = input.required.iter().position(|r| *r == json) {
                required.push((position, ident, field.ty.clone()));
                continue;
            }
            if input.three_state.contains(&json)
                && let Some(inner) = wrapped(&field.ty, "Option")
            {
                field.ty = syn::parse_quote!(#patch<#inner>);
                for attr in &mut field.attrs {
                    if attr.path().is_ident("serde") {
                        *attr =
                            syn::parse_quote!(#[serde(default, skip_serializing_if = #is_absent)]);
                    }
                }
            }
            others.push((ident, json, field.ty.clone()));
        }
        required.sort_by_key(|(position, _, _)| *position);

        let params = required.iter().map(|(_, ident, ty)| {
            let (param, _) = conversion(ty, ident);
            quote!(#ident: #param)
        });
        let args = required.iter().map(|(_, ident, ty)| {
            let (_, convert) = conversion(ty, ident);
            quote!(#ident: #convert)
        });
        let defaults = others.iter().map(|(ident, _, _)| ident);
        let doc = if input.required.is_empty() {
            "A value with every field left out.".to_owned()
        } else {
            format!(
                "A value with its required fields ({}) and every other field left out.",
                input
                    .required
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let setters = others
            .iter()
            .map(|(ident, json, ty)| setters(ident, json, ty));
        let ident = &item.ident;
        self.impls.push(syn::parse_quote! {
            impl #ident {
                #[doc = #doc]
                pub fn new(#(#params),*) -> Self {
                    Self {
                        #(#args,)*
                        #(#defaults: ::std::default::Default::default(),)*
                    }
                }
                #(#setters)*
            }
        });
    }
}

/// The chained setters of one optional field: `field(value)`, and for a
/// three-state field also `clear_field()` (send `null`) and
/// `leave_field()` (do not send it).
fn setters(ident: &syn::Ident, json: &str, ty: &syn::Type) -> proc_macro2::TokenStream {
    let value = quote::format_ident!("value");
    let set_doc = format!("Sets `{json}`.");
    if let Some(inner) = wrapped(ty, "Patch") {
        let (param, convert) = conversion(&inner, &value);
        let clear = quote::format_ident!("clear_{}", ident.to_string().trim_end_matches('_'));
        let leave = quote::format_ident!("leave_{}", ident.to_string().trim_end_matches('_'));
        let clear_doc = format!("Clears `{json}`: it is sent as `null`.");
        let leave_doc = format!("Leaves `{json}` unchanged: it is not sent.");
        quote! {
            #[doc = #set_doc]
            pub fn #ident(mut self, value: #param) -> Self {
                self.#ident = crate::patch::Patch::Value(#convert);
                self
            }
            #[doc = #clear_doc]
            pub fn #clear(mut self) -> Self {
                self.#ident = crate::patch::Patch::Null;
                self
            }
            #[doc = #leave_doc]
            pub fn #leave(mut self) -> Self {
                self.#ident = crate::patch::Patch::Absent;
                self
            }
        }
    } else if let Some(inner) = wrapped(ty, "Option") {
        let (param, convert) = conversion(&inner, &value);
        quote! {
            #[doc = #set_doc]
            pub fn #ident(mut self, value: #param) -> Self {
                self.#ident = ::std::option::Option::Some(#convert);
                self
            }
        }
    } else {
        let (param, convert) = conversion(ty, &value);
        quote! {
            #[doc = #set_doc]
            pub fn #ident(mut self, value: #param) -> Self {
                self.#ident = #convert;
                self
            }
        }
    }
}

/// The parameter type a setter of `ty` takes, and the expression that turns
/// the parameter `value` into a `ty`: lists take any iterator of convertible items,
/// everything else anything `Into` it.
fn conversion(
    ty: &syn::Type,
    value: &syn::Ident,
) -> (proc_macro2::TokenStream, proc_macro2::TokenStream) {
    match wrapped(ty, "Vec") {
        Some(item) => (
            quote!(impl ::std::iter::IntoIterator<Item = impl ::std::convert::Into<#item>>),
            quote!(#value.into_iter().map(::std::convert::Into::into).collect()),
        ),
        None => (
            quote!(impl ::std::convert::Into<#ty>),
            quote!(#value.into()),
        ),
    }
}

/// The JSON name of a generated field: its `#[serde(rename = "...")]`, or
/// its identifier (typify renames only fields that are Rust keywords).
fn json_name(field: &syn::Field) -> String {
    let mut name = None;
    for attr in &field.attrs {
        if attr.path().is_ident("serde") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    name = Some(meta.value()?.parse::<syn::LitStr>()?.value());
                } else if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                }
                Ok(())
            });
        }
    }
    name.unwrap_or_else(|| {
        field
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    })
}

/// An `open_enum! { ... }` for each string enum of the spec.
fn open_enums(spec: &OpenAPI) -> Vec<syn::Item> {
    let mut enums = Vec::new();
    let Some(components) = &spec.components else {
        return enums;
    };
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let SchemaKind::Type(Type::String(string)) = &schema.schema_kind else {
            continue;
        };
        if string.enumeration.is_empty() {
            continue;
        }
        let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
        let doc = schema.schema_data.description.clone().unwrap_or_default();
        let values: Vec<String> = string.enumeration.iter().flatten().cloned().collect();
        let variants = values.iter().map(|value| {
            let variant = syn::Ident::new(&variant_name(value), proc_macro2::Span::call_site());
            let doc = format!("`{value}`");
            quote!(#[doc = #doc] #variant = #value)
        });
        enums.push(syn::parse_quote! {
            crate::open_enum! {
                #[doc = #doc]
                #ident { #(#variants),* }
            }
        });
    }
    enums
}

/// `googleplus` -> `Googleplus`, `work_phone` -> `WorkPhone`.
fn variant_name(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect()
}

fn is_string_enum(schema: &Schema) -> bool {
    matches!(&schema.schema_kind, SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty())
}

/// `T` when `ty` is `<wrapper><T>` (in any of the spellings typify uses).
fn wrapped(ty: &syn::Type, wrapper: &str) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

/// Generates the formatted Rust source of the raw client from a parsed spec.
///
/// `header` is written above the code (the build script and the xtask each
/// say where the file came from).
pub fn generate_from(spec: &OpenAPI, header: &str) -> Result<String, Error> {
    let mut adapted = spec.clone();
    adapt_for_progenitor(&mut adapted);
    let mut generator = Generator::new(&settings(&adapted));
    let tokens = generator
        .generate_tokens(&adapted)
        .map_err(|e| Error::Progenitor(e.to_string()))?;
    let mut file: syn::File = syn::parse2(tokens).map_err(|e| Error::Syntax(e.to_string()))?;
    postprocess(&adapted, &mut file);
    Ok(format!("{header}{}", prettyplease::unparse(&file)))
}

/// Generates the formatted Rust source of the raw client from the spec file
/// at `path`.
pub fn generate(path: &Path, header: &str) -> Result<String, Error> {
    generate_from(&load_spec(path)?, header)
}
