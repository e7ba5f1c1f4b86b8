"""Uses the Python client that openapi-python-client generates from
openapi/copper.yaml, the way another team would. `cargo xtask test`
generates it into target/contract/python and checks this file with
`mypy --strict`; the `type: ignore[...]` lines fail that check (as unused
ignores) if the generated types ever stop refusing what they refuse.
"""

from copper_bulk_client import AuthenticatedClient
from copper_bulk_client.api.leads import leads_search
from copper_bulk_client.api.people import people_bulk_create, people_bulk_update, people_search
from copper_bulk_client.models import (
    BulkCreateFailure,
    BulkUpdateFailure,
    EmailCategory,
    EmailInput,
    FieldErrors,
    LeadsSearchRequest,
    PeopleBulkCreateRequest,
    PeopleBulkUpdateRequest,
    PeopleSearchRequest,
    Person,
    PersonCreate,
    PersonUpdate,
    SortDirection,
)
from copper_bulk_client.types import Unset


def client(base_url: str, token: str, email: str) -> AuthenticatedClient:
    # The three auth headers: the token, the application, the user e-mail.
    return AuthenticatedClient(
        base_url=base_url,
        token=token,
        prefix="",
        auth_header_name="X-PW-AccessToken",
        headers={"X-PW-Application": "developer_api", "X-PW-UserEmail": email},
    )


def oauth_client(base_url: str, access_token: str) -> AuthenticatedClient:
    # OAuth 2.0: the generated client's default, `Authorization: Bearer`.
    return AuthenticatedClient(base_url=base_url, token=access_token)


def describe(item: BulkUpdateFailure | Person) -> str:
    """Narrows the success-or-failure item to either branch."""
    if isinstance(item, BulkUpdateFailure):
        message = item.message
        if isinstance(message, FieldErrors):
            reasons = "; ".join(
                f"{field}: {', '.join(e.error for e in errors)}"
                for field, errors in message.additional_properties.items()
            )
        else:
            reasons = message
        return f"{item.id} rejected: {reasons}"
    emails = [] if isinstance(item.emails, Unset) or item.emails is None else item.emails
    return f"{item.id} {item.name} <{', '.join(str(e.email) for e in emails)}>"


def update_people(api: AuthenticatedClient) -> list[str]:
    body = PeopleBulkUpdateRequest(
        people=[
            PersonUpdate(
                id=12345,
                title=None,
                emails=[EmailInput(email="mycontact_1233@noemail.com", category=EmailCategory.WORK)],
            )
        ]
    )
    items = people_bulk_update.sync(client=api, body=body)
    if not isinstance(items, list):
        return []
    return [describe(item) for item in items]


def created_ids(api: AuthenticatedClient) -> list[int]:
    body = PeopleBulkCreateRequest(people=[PersonCreate(name="Contact One")])
    items = people_bulk_create.sync(client=api, body=body)
    if not isinstance(items, list):
        return []
    ids: list[int] = []
    for item in items:
        if isinstance(item, BulkCreateFailure):
            continue
        ids.append(item.id)
    return ids


def wrong_category() -> EmailInput:
    return EmailInput(email="a@example.com", category="home")  # type: ignore[arg-type]


def update_without_id() -> PersonUpdate:
    return PersonUpdate(title="CTO")  # type: ignore[call-arg]


def person_has_no_message(person: Person) -> object:
    return person.message  # type: ignore[attr-defined]


def people_with_emails(api: AuthenticatedClient, emails: list[str]) -> list[int]:
    """A search answers whole records, never a failure item."""
    body = PeopleSearchRequest(
        emails=emails, page_size=200, sort_by="date_created", sort_direction=SortDirection.DESC
    )
    people = people_search.sync(client=api, body=body)
    if not isinstance(people, list):
        return []
    return [person.id for person in people]


def lead_with_email(api: AuthenticatedClient, email: str) -> list[int]:
    """The leads' e-mail filter is one address, as Copper documents it."""
    leads = leads_search.sync(client=api, body=LeadsSearchRequest(emails=email))
    if not isinstance(leads, list):
        return []
    return [lead.id for lead in leads]


def leads_by_list() -> LeadsSearchRequest:
    return LeadsSearchRequest(emails=["a@example.com"])  # type: ignore[arg-type]
