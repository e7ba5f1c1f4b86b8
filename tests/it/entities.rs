//! Every entity through the facade against the sandbox: one engine, five
//! kinds of record.

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityParentType, ActivityTypeInput, CompanyCreate,
    CompanyUpdate, Config, Copper, CustomFieldInput, CustomValue, Error, LeadCreate,
    LeadEmailInput, LeadUpdate, OpportunityCreate, PersonUpdate, RecordResult,
};
use copper_bulk_sandbox::{Entity, Sandbox, SandboxConfig};
use serde_json::{Value, json};

async fn sandbox(config: SandboxConfig) -> (Sandbox, Copper) {
    let sandbox = Sandbox::start(config.with_rate_limit(None)).await.unwrap();
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_rate_limits([]);
    let copper = Copper::new(config).unwrap();
    (sandbox, copper)
}

#[tokio::test]
async fn leads_update_and_create() {
    let (sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let before = sandbox.record(Entity::Leads, 2).unwrap();
    let report = copper
        .leads()
        .bulk_update([
            LeadUpdate::new(1)
                .status("Qualified")
                .monetary_value(12000.0),
            LeadUpdate::new(2).clear_email().tags(["webinar"]),
            LeadUpdate::new(3).email(LeadEmailInput {
                email: "not-an-address".into(),
                category: None,
            }),
        ])
        .report()
        .await;
    assert_eq!(report.applied.len(), 2, "{report:?}");
    assert_eq!(report.rejected[0].1.errors["email"], ["invalid"]);
    let lead = &report.applied[0].1;
    assert_eq!(
        (lead.status.as_deref(), lead.monetary_value),
        (Some("Qualified"), Some(12000.0))
    );
    let after = sandbox.record(Entity::Leads, 2).unwrap();
    assert_eq!(after["email"], Value::Null);
    assert_eq!(
        after["name"], before["name"],
        "a field not sent is unchanged"
    );

    let report = copper
        .leads()
        .bulk_create([LeadCreate::new("New Lead"), LeadCreate::new(" ")])
        .report()
        .await;
    assert_eq!(report.applied[0].1.status.as_deref(), Some("New"));
    assert_eq!(report.applied[0].1.first_name.as_deref(), Some("New"));
    assert_eq!(report.rejected[0].1.errors["name"], ["invalid"]);
}

#[tokio::test]
async fn leads_computed_values_are_asked_for_per_call() {
    let (_sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let update = || [LeadUpdate::new(4).custom_fields([CustomFieldInput::new(7, vec![1_i64, 2])])];
    let plain = copper.leads().bulk_update(update()).report().await;
    let computed = copper
        .leads()
        .with_computed_custom_field_values()
        .bulk_update(update())
        .report()
        .await;
    let field = |report: &copper_bulk::Report<copper_bulk::types::Lead>| {
        report.applied[0].1.custom_fields.clone().unwrap()[0].clone()
    };
    assert_eq!(field(&plain).computed_value, None);
    assert_eq!(field(&computed).computed_value, Some(json!([1, 2])));
    assert_eq!(field(&computed).value, Some(CustomValue::Ids(vec![1, 2])));
}

#[tokio::test]
async fn leads_switched_off_stop_the_run_with_a_clear_error() {
    let (sandbox, copper) = sandbox(SandboxConfig::new().with_leads_enabled(false)).await;
    let copper = Copper::new(copper.config().clone().with_concurrency(1).unwrap()).unwrap();
    let records: Vec<LeadUpdate> = (1..=30).map(|id| LeadUpdate::new(id).status("x")).collect();
    let report = copper.leads().bulk_update(records).report().await;
    assert_eq!(report.not_applied.len(), 30);
    let first = &report.not_applied[0].1;
    assert!(matches!(first.error(), Error::Refused { status: 403, .. }));
    assert_eq!(
        first.error().to_string(),
        "copper refused the request (HTTP 403): Feature not enabled"
    );
    assert_eq!(
        sandbox.stats().requests(),
        1,
        "the rest was not sent into the same refusal"
    );
}

#[tokio::test]
async fn companies_update_and_create() {
    let (sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let report = copper
        .companies()
        .bulk_update([
            CompanyUpdate::new(1)
                .email_domain("acme.example")
                .clear_details(),
            CompanyUpdate::new(99).tags(["x"]),
        ])
        .report()
        .await;
    assert_eq!(
        report.applied[0].1.email_domain.as_deref(),
        Some("acme.example")
    );
    assert_eq!(
        report.rejected[0].1.message.as_deref(),
        Some("Resource not found")
    );
    assert_eq!(report.rejected[0].1.id, Some(99));
    let report = copper
        .companies()
        .bulk_create([
            CompanyCreate::new("Acme").primary_contact_id(1),
            CompanyCreate::new("Nobody's").primary_contact_id(424242),
        ])
        .report()
        .await;
    let id = report.applied[0].1.id;
    assert_eq!(
        sandbox.record(Entity::Companies, id).unwrap()["name"],
        "Acme"
    );
    assert_eq!(
        report.rejected[0].1.errors["primary_contact_id"],
        ["invalid"]
    );
}

#[tokio::test]
async fn opportunities_create_with_every_kind_of_custom_field() {
    let (sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let values: Vec<CustomValue> = vec![
        true.into(),
        12.5.into(),
        "03/14/2027".into(),
        1_775_000_000_i64.into(),
        vec![7_i64, 8].into(),
        CustomValue::Null,
    ];
    let deal = OpportunityCreate::new("Paper")
        .primary_contact_id(1)
        .priority("High")
        .custom_fields(
            values
                .iter()
                .enumerate()
                .map(|(i, value)| CustomFieldInput::new(i as i64 + 1, value.clone())),
        );
    let report = copper
        .opportunities()
        .bulk_create([
            deal,
            OpportunityCreate::new("Lost contact").primary_contact_id(999_999),
        ])
        .report()
        .await;
    let created = &report.applied[0].1;
    let stored: Vec<CustomValue> = created
        .custom_fields
        .clone()
        .unwrap()
        .into_iter()
        .map(|field| field.value.unwrap_or_default())
        .collect();
    assert_eq!(stored, values);
    assert_eq!(created.status.as_deref(), Some("Open"));
    assert_eq!(
        report.rejected[0].1.errors["primary_contact_id"],
        ["invalid"]
    );
    assert!(sandbox.record(Entity::Opportunities, created.id).is_some());
}

#[tokio::test]
async fn activities_create_on_existing_records_only() {
    let (_sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let note = |kind, id| {
        ActivityCreate::new(
            ActivityParentInput::new(kind, id),
            ActivityTypeInput::new("user", 0),
        )
        .details("Called")
    };
    let outcomes = copper
        .activities()
        .bulk_create([
            note(ActivityParentType::Person, 1),
            note(ActivityParentType::Lead, 999),
            ActivityCreate::new(
                ActivityParentInput::new(ActivityParentType::Company, 2),
                ActivityTypeInput::new("system", 1),
            ),
        ])
        .report()
        .await;
    assert_eq!(outcomes.applied.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes.applied[0].1.parent.type_, "person");
    assert_eq!(outcomes.applied[0].1.user_id, Some(1));
    let errors: Vec<Vec<&String>> = outcomes
        .rejected
        .iter()
        .map(|(_, r)| r.errors.keys().collect())
        .collect();
    assert_eq!(errors, [vec!["parent"], vec!["type"]]);
}

#[tokio::test]
async fn custom_fields_are_set_and_cleared_per_definition() {
    let (sandbox, copper) = sandbox(SandboxConfig::new()).await;
    let report = copper
        .people()
        .bulk_update([PersonUpdate::new(1).custom_fields([
            CustomFieldInput::new(1, "a"),
            CustomFieldInput::new(2, true),
        ])])
        .report()
        .await;
    assert!(report.all_applied());
    let outcome = copper
        .people()
        .bulk_update([
            PersonUpdate::new(1).custom_fields([CustomFieldInput::new(1, CustomValue::Null)])
        ])
        .next_outcome()
        .await;
    let RecordResult::Applied(person) = outcome.result else {
        panic!("{outcome:?}")
    };
    let fields = person.custom_fields.unwrap();
    assert_eq!(fields[0].value, None, "cleared");
    assert_eq!(fields[1].value, Some(CustomValue::Bool(true)), "left alone");
    assert_eq!(
        sandbox.record(Entity::People, 1).unwrap()["custom_fields"],
        json!([
            {"custom_field_definition_id": 1, "value": null},
            {"custom_field_definition_id": 2, "value": true}
        ])
    );
}

/// Reads the only outcome of a run.
trait NextOutcome<T> {
    async fn next_outcome(self) -> copper_bulk::Outcome<T>;
}

impl<T> NextOutcome<T> for copper_bulk::Outcomes<T> {
    async fn next_outcome(mut self) -> copper_bulk::Outcome<T> {
        futures_util::StreamExt::next(&mut self)
            .await
            .expect("one outcome")
    }
}
