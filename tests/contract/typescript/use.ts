// Uses the TypeScript types that openapi-typescript generates from
// openapi/copper.yaml, the way another team's client would. `cargo xtask
// test` generates them into target/contract/typescript/schema.d.ts and
// type-checks this file with `tsc --strict --noEmit`: the
// `@ts-expect-error` lines fail the check if the types ever stop refusing
// what they refuse.

import type { components, paths } from "copper-schema";

type Schemas = components["schemas"];
type UpdateItem = Schemas["PeopleBulkUpdateItem"];
type CreateItem = Schemas["PeopleBulkCreateItem"];
type UpdateResponse =
  paths["/developer_api/v1/people/bulk_update"]["post"]["responses"]["200"]["content"]["application/json"];

// The success-or-failure item narrows to either branch.
export function describeUpdate(item: UpdateItem): string {
  if ("success" in item) {
    const failure: Schemas["BulkUpdateFailure"] = item;
    const id: number = failure.id;
    const reasons =
      typeof failure.message === "string"
        ? failure.message
        : Object.entries(failure.message)
            .map(([field, errors]) => `${field}: ${errors.map((e) => e.error).join(", ")}`)
            .join("; ");
    return `${id} rejected: ${reasons}`;
  }
  const person: Schemas["Person"] = item;
  const emails = (person.emails ?? []).map((e) => e.email).join(", ");
  return `${person.id} ${person.name} <${emails}>`;
}

export function createdId(item: CreateItem): number | undefined {
  if ("success" in item) {
    // The literal type: a failure can only say false.
    const success: false = item.success;
    return success ? 0 : undefined;
  }
  return item.id;
}

export function summarize(items: UpdateResponse): string[] {
  return items.map(describeUpdate);
}

// An update: a field left out is unchanged, null clears it, a list is
// replaced whole.
export const update: Schemas["PeopleBulkUpdateRequest"] = {
  people: [
    {
      id: 12345,
      title: null,
      address: null,
      tags: [],
      emails: [{ email: "mycontact_1233@noemail.com", category: "work" }],
      phone_numbers: [{ number: "415-123-45678", category: "mobile" }],
    },
  ],
};

export const create: Schemas["PeopleBulkCreateRequest"] = {
  people: [{ name: "Contact One", socials: [{ url: "https://example.com/in/one", category: "linkedin" }] }],
};

export const wrongCategory: Schemas["PeopleBulkUpdateRequest"] = {
  people: [
    {
      id: 1,
      emails: [
        {
          email: "a@example.com",
          // @ts-expect-error "home" is not an e-mail category
          category: "home",
        },
      ],
    },
  ],
};

export const successOnAFailure: Schemas["BulkUpdateFailure"] = {
  // @ts-expect-error a failure item always says success: false
  success: true,
  message: { name: [{ error: "invalid" }] },
  id: 12345,
};

// @ts-expect-error an update names its person by id
export const updateWithoutId: Schemas["PersonUpdate"] = { title: "CTO" };

export const clearedName: Schemas["PersonUpdate"] = {
  id: 1,
  // @ts-expect-error the name cannot be cleared
  name: null,
};

// A category Copper added later still reads as a string in a response.
export const newCategory: Schemas["Email"] = { email: "a@example.com", category: "pager" };

// A search answers a page of whole records, never a failure item.
type PeopleFound =
  paths["/developer_api/v1/people/search"]["post"]["responses"]["200"]["content"]["application/json"];

export function foundIds(people: PeopleFound): number[] {
  return people.map((person: Schemas["Person"]) => person.id);
}

export const peopleByEmail: Schemas["PeopleSearchRequest"] = {
  emails: ["mycontact_1233@noemail.com"],
  page_size: 200,
  sort_by: "date_created",
  sort_direction: "desc",
};

// The leads' e-mail filter is one address, as Copper documents it.
export const leadByEmail: Schemas["LeadsSearchRequest"] = { emails: "mylead@noemail.com" };

export const leadsByList: Schemas["LeadsSearchRequest"] = {
  // @ts-expect-error the leads' e-mail filter is one string, not a list
  emails: ["mylead@noemail.com"],
};

export const wrongDirection: Schemas["PeopleSearchRequest"] = {
  // @ts-expect-error a search sorts asc or desc
  sort_direction: "up",
};

export const notesOnATask: Schemas["ActivitiesSearchRequest"] = {
  parent: { type: "task", id: 1 },
  activity_types: [{ category: "user", id: 0 }],
};
