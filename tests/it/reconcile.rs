//! Reading Copper back when a request's fate is unknown, against the
//! sandbox: a create whose answer was lost is found and reported created,
//! one that never arrived is sent again, one whose unique key someone else
//! held is rejected, and what cannot be settled says why.

use std::time::{Duration, SystemTime};

use copper_bulk::{
    ActivityCreate, ActivityParentInput, ActivityParentType, ActivityTypeInput, Config, Copper,
    EmailInput, Entry, Error, LeadCreate, OpportunityCreate, Outcome, PersonCreate, Reconcile,
    RetryPolicy, ops,
};
use copper_bulk_sandbox::{Applied, Entity, Fault, Sandbox, SandboxConfig};
use futures_util::StreamExt;

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::new().with_rate_limit(None))
        .await
        .unwrap()
}

/// A client that waits little before reading back, and gives up on an
/// answer after a second.
fn copper(sandbox: &Sandbox) -> Copper {
    let config = Config::new(SandboxConfig::TOKEN, SandboxConfig::USER_EMAIL)
        .unwrap()
        .with_base_url(sandbox.url())
        .unwrap()
        .with_rate_limits([])
        .with_timeouts(Duration::from_secs(1), Duration::from_secs(1))
        .with_retry(
            RetryPolicy::standard()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .with_reconcile(Reconcile::standard().with_grace(Duration::from_millis(50)));
    Copper::new(config).unwrap()
}

fn created(sandbox: &Sandbox, entity: Entity) -> Vec<i64> {
    sandbox
        .applied()
        .into_iter()
        .filter_map(|applied| match applied {
            Applied::Created(kind, id) if kind == entity => Some(id),
            _ => None,
        })
        .collect()
}

fn ada() -> PersonCreate {
    PersonCreate::new("Ada Lovelace").emails([EmailInput::new("Ada@Example.org")])
}

/// Whether Copper applied the create before the connection dropped or
/// not, it ends created once, with Copper's id: found, or sent again.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_or_sent_again() {
    for fault in [Fault::DropAfterApplying, Fault::DropBeforeApplying] {
        let sandbox = sandbox().await;
        sandbox.inject(fault.clone());
        let report = copper(&sandbox)
            .people()
            .bulk_create([ada()])
            .report()
            .await;
        let ids = created(&sandbox, Entity::People);
        assert_eq!(ids.len(), 1, "{fault:?}: created once");
        assert_eq!(report.applied.len(), 1, "{fault:?}: {report:?}");
        assert_eq!(
            report.applied[0].1.id, ids[0],
            "{fault:?}: with copper's id"
        );
    }
}

#[tokio::test]
async fn a_create_whose_email_someone_already_had_is_rejected_not_created() {
    let sandbox = sandbox().await;
    // The sandbox seeds person 3 with this address; a 503 changes nothing
    // but leaves the create's fate unknown.
    sandbox.inject(Fault::Status(503));
    let taken = PersonCreate::new("Someone Else").emails([EmailInput::new("PERSON3@example.com")]);
    let report = copper(&sandbox)
        .people()
        .bulk_create([taken])
        .report()
        .await;
    assert!(created(&sandbox, Entity::People).is_empty());
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let message = report.rejected[0].1.message.clone().unwrap();
    assert!(message.contains("people 3"), "{message}");
}

#[tokio::test]
async fn a_create_without_a_key_stays_unknown_and_says_why() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::DropAfterApplying);
    let report = copper(&sandbox)
        .people()
        .bulk_create([PersonCreate::new("No E-mail")])
        .report()
        .await;
    assert_eq!(report.unknown.len(), 1, "{report:?}");
    let Error::Unsettled(reason) = report.unknown[0].1.error() else {
        panic!("{:?}", report.unknown[0].1)
    };
    assert_eq!(reason, "the record has no e-mail address to look it up by");
}

#[tokio::test]
async fn a_create_two_records_match_stays_unknown_and_names_them() {
    let sandbox = sandbox().await;
    let copper = copper(&sandbox);
    // Leads may share an e-mail address: two just like the one to create
    // already exist, made moments ago.
    let lead = || LeadCreate::new("Twin Lead").email(EmailInput::new("twin@example.org"));
    let made = copper.leads().bulk_create([lead(), lead()]).report().await;
    assert_eq!(made.applied.len(), 2);
    sandbox.inject(Fault::DropBeforeApplying);
    let report = copper.leads().bulk_create([lead()]).report().await;
    assert_eq!(report.unknown.len(), 1, "{report:?}");
    let Error::Unsettled(reason) = report.unknown[0].1.error() else {
        panic!("{:?}", report.unknown[0].1)
    };
    let ids: Vec<String> = made
        .applied
        .iter()
        .map(|(_, lead)| lead.id.to_string())
        .collect();
    assert_eq!(
        reason,
        &format!("2 records in copper match it (ids {})", ids.join(", "))
    );
    assert_eq!(created(&sandbox, Entity::Leads).len(), 2, "nothing more");
}

#[tokio::test]
async fn opportunities_and_activities_whose_answers_were_lost_are_found() {
    let sandbox = sandbox().await;
    let copper = copper(&sandbox);
    sandbox.inject(Fault::DropAfterApplying);
    let deals = copper
        .opportunities()
        .bulk_create([OpportunityCreate::new("Fifty cases of paper").primary_contact_id(1)])
        .report()
        .await;
    assert_eq!(deals.applied.len(), 1, "{deals:?}");
    assert_eq!(
        created(&sandbox, Entity::Opportunities),
        [deals.applied[0].1.id]
    );
    sandbox.inject(Fault::DropAfterApplying);
    let note = ActivityCreate::new(
        ActivityParentInput::new(ActivityParentType::Person, 1),
        ActivityTypeInput::new("user", 0),
    )
    .details("Called about the paper");
    let notes = copper.activities().bulk_create([note]).report().await;
    assert_eq!(notes.applied.len(), 1, "{notes:?}");
    assert_eq!(
        created(&sandbox, Entity::Activities),
        [notes.applied[0].1.id]
    );
}

#[tokio::test]
async fn a_create_an_earlier_run_applied_is_found_and_not_sent_again() {
    let sandbox = sandbox().await;
    let copper = copper(&sandbox);
    let first = copper.people().bulk_create([ada()]).report().await;
    let id = first.applied[0].1.id;
    // The earlier run was killed before it learnt the answer.
    let entries = [Entry::new(4, ada()).sent_before(SystemTime::now() - Duration::from_secs(5))];
    let outcomes: Vec<Outcome<_>> = copper
        .bulk_entries::<ops::PeopleCreate, _>(futures_util::stream::iter(entries), false, None)
        .collect()
        .await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].index, 4);
    assert_eq!(
        outcomes[0].result.applied().map(|person| person.id),
        Some(id)
    );
    assert_eq!(created(&sandbox, Entity::People), [id], "not sent again");
}

#[tokio::test]
async fn with_reading_back_off_a_lost_answer_stays_unknown() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::DropAfterApplying);
    let config = copper(&sandbox)
        .config()
        .clone()
        .with_reconcile(Reconcile::off());
    let report = Copper::new(config)
        .unwrap()
        .people()
        .bulk_create([ada()])
        .report()
        .await;
    assert_eq!(report.unknown.len(), 1, "{report:?}");
    assert!(!matches!(report.unknown[0].1.error(), Error::Unsettled(_)));
    assert_eq!(created(&sandbox, Entity::People).len(), 1);
}

#[tokio::test]
async fn a_record_with_its_key_made_since_that_differs_leaves_the_create_unknown() {
    let sandbox = sandbox().await;
    let copper = copper(&sandbox);
    // Someone else made a person with this address moments ago; a 503
    // leaves this create's fate unknown, and the person found could be
    // this create's with a value Copper changed: it cannot be told.
    let other = PersonCreate::new("Someone Else").emails([EmailInput::new("ada@example.org")]);
    let made = copper.people().bulk_create([other]).report().await;
    let id = made.applied[0].1.id;
    sandbox.inject(Fault::Status(503));
    let report = copper.people().bulk_create([ada()]).report().await;
    assert_eq!(report.unknown.len(), 1, "{report:?}");
    let Error::Unsettled(reason) = report.unknown[0].1.error() else {
        panic!("{:?}", report.unknown[0].1)
    };
    assert_eq!(
        reason,
        &format!(
            "people {id} in copper has its e-mail address and may have been created after it was sent, but does not hold every field it set"
        )
    );
}

#[tokio::test]
async fn a_record_this_run_already_reported_is_not_claimed_again() {
    let sandbox = sandbox().await;
    let config = copper(&sandbox)
        .config()
        .clone()
        .with_batch_size(1)
        .unwrap()
        .with_concurrency(1)
        .unwrap();
    let copper = Copper::new(config).unwrap();
    // Two identical leads (leads may share an address): the first is
    // made; the second's request never arrives. The lead found is the
    // first's, not the second's.
    let lead = || LeadCreate::new("Same Lead").email(EmailInput::new("same@example.org"));
    sandbox.inject_times(Fault::Delay(Duration::ZERO), 1);
    sandbox.inject(Fault::DropBeforeApplying);
    let report = copper.leads().bulk_create([lead(), lead()]).report().await;
    assert_eq!(report.applied.len(), 2, "{report:?}");
    let ids: Vec<i64> = report.applied.iter().map(|(_, lead)| lead.id).collect();
    assert_ne!(ids[0], ids[1], "one lead reported for both");
    assert_eq!(created(&sandbox, Entity::Leads), ids);
}

#[tokio::test]
async fn a_name_copper_keeps_with_odd_spacing_is_found() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::DropAfterApplying);
    let report = copper(&sandbox)
        .opportunities()
        .bulk_create([OpportunityCreate::new("Q3  Renewal").primary_contact_id(1)])
        .report()
        .await;
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert_eq!(
        created(&sandbox, Entity::Opportunities),
        [report.applied[0].1.id],
        "created once"
    );
}
