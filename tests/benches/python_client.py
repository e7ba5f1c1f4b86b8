"""The peer a Python team would write: the client openapi-python-client
generates from openapi/copper.yaml, driven by the obvious loop (send ten
records, wait for the answer, optionally sleep, repeat).

Run by the benchmarks (cargo xtask bench); prints one JSON line.

    python python_client.py URL RECORDS PAUSE_SECONDS
"""

import json
import sys
import time

import httpx
from copper_bulk_client import AuthenticatedClient
from copper_bulk_client.api.people import people_bulk_update
from copper_bulk_client.models import PeopleBulkUpdateRequest, Person, PersonUpdate


def sandbox_client(url: str, connections: int = 1) -> AuthenticatedClient:
    """The generated client, with the sandbox's credentials."""
    return AuthenticatedClient(
        base_url=url,
        token="sandbox-token",
        prefix="",
        auth_header_name="X-PW-AccessToken",
        headers={"X-PW-Application": "developer_api", "X-PW-UserEmail": "sandbox@example.com"},
        timeout=httpx.Timeout(60.0),
        httpx_args={"limits": httpx.Limits(max_connections=connections)},
    )


def main() -> None:
    url, records, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    client = sandbox_client(url)
    applied = 0
    statuses: dict[int, int] = {}
    started = time.monotonic()
    with client as api:
        for first in range(0, records, 10):
            people = [
                PersonUpdate(id=i % 100 + 1, title=f"Title {i}")
                for i in range(first, min(first + 10, records))
            ]
            response = people_bulk_update.sync_detailed(
                client=api, body=PeopleBulkUpdateRequest(people=people)
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if isinstance(response.parsed, list):
                applied += sum(isinstance(item, Person) for item in response.parsed)
            if pause:
                time.sleep(pause)
    print(json.dumps({"applied": applied, "seconds": time.monotonic() - started, "statuses": statuses}))


if __name__ == "__main__":
    main()
