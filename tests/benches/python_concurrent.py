"""The strongest peer a Python team would reasonably write: the client
openapi-python-client generates from openapi/copper.yaml, driven by worker
threads that share one pacer.

- The pacer spaces requests a third of a second apart across all workers,
  plus an optional margin, and lets at most 180 start in any 60 seconds:
  Copper's two bulk limits.
- A 429 pauses the pacer for every worker, for the seconds its Retry-After
  says (one second when it says nothing usable), and the batch is sent again,
  for as long as five minutes.
- A 5xx answer or a broken connection is retried twice more, after half a
  second and a second: what a retry decorator such as tenacity's would do.
- Whatever else comes back is final for the batch: the records answered with
  a full record are applied, the rest are not.

Run by the benchmarks (cargo xtask bench throughput); prints one JSON line:
the records it counts as applied (their indexes) and the seconds it took.

    python python_concurrent.py URL RECORDS update|create WORKERS [MARGIN_MS]
"""

import collections
import json
import math
import queue
import sys
import threading
import time
from typing import Any

import httpx
from copper_bulk_client import AuthenticatedClient
from copper_bulk_client.api.people import people_bulk_create, people_bulk_update
from copper_bulk_client.models import (
    PeopleBulkCreateRequest,
    PeopleBulkUpdateRequest,
    Person,
    PersonCreate,
    PersonUpdate,
)
from python_client import sandbox_client

BATCH = 10
INTERVAL = 1.0 / 3.0
PER_MINUTE = 180
RATE_LIMITED_FOR = 300.0
OTHER_ATTEMPTS = 3


class Pacer:
    """Hands out send times: INTERVAL and a margin apart, PER_MINUTE in any minute."""

    def __init__(self, margin: float) -> None:
        self.interval = INTERVAL + margin
        self.lock = threading.Lock()
        self.next = time.monotonic()
        self.recent: collections.deque[float] = collections.deque()

    def wait(self) -> None:
        with self.lock:
            at = max(time.monotonic(), self.next)
            if len(self.recent) >= PER_MINUTE:
                at = max(at, self.recent.popleft() + 60.0)
            self.recent.append(at)
            self.next = at + self.interval
        time.sleep(max(0.0, at - time.monotonic()))

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.next = max(self.next, time.monotonic() + seconds)


def retry_after(headers: httpx.Headers) -> float:
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return 1.0
    return min(seconds, 60.0) if math.isfinite(seconds) and seconds >= 0 else 1.0


Request = PeopleBulkUpdateRequest | PeopleBulkCreateRequest


def body(operation: str, first: int, last: int) -> Request:
    if operation == "update":
        return PeopleBulkUpdateRequest(
            people=[PersonUpdate(id=i % 100 + 1, title=f"Title {i}") for i in range(first, last)]
        )
    return PeopleBulkCreateRequest(people=[PersonCreate(name=f"Bench {i}") for i in range(first, last)])


def send(api: AuthenticatedClient, request: Request) -> Any:
    if isinstance(request, PeopleBulkUpdateRequest):
        return people_bulk_update.sync_detailed(client=api, body=request)
    return people_bulk_create.sync_detailed(client=api, body=request)


def worker(
    api: AuthenticatedClient,
    operation: str,
    pacer: Pacer,
    batches: "queue.Queue[tuple[int, int]]",
    applied: list[int],
    lock: threading.Lock,
) -> None:
    while True:
        try:
            first, last = batches.get_nowait()
        except queue.Empty:
            return
        request = body(operation, first, last)
        started = time.monotonic()
        failures = 0
        while True:
            pacer.wait()
            try:
                response = send(api, request)
            except httpx.TransportError:
                failures += 1
                if failures < OTHER_ATTEMPTS:
                    time.sleep(0.5 * failures)
                    continue
                break
            status = response.status_code
            if status == 429 and time.monotonic() - started < RATE_LIMITED_FOR:
                pacer.pause(retry_after(response.headers))
                continue
            if status >= 500:
                failures += 1
                if failures < OTHER_ATTEMPTS:
                    time.sleep(0.5 * failures)
                    continue
            if isinstance(response.parsed, list):
                ok = [first + k for k, item in enumerate(response.parsed) if isinstance(item, Person)]
                with lock:
                    applied.extend(ok)
            break


def main() -> None:
    url, records, operation, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    margin = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.0
    client = sandbox_client(url, connections=workers)
    batches: queue.Queue[tuple[int, int]] = queue.Queue()
    for first in range(0, records, BATCH):
        batches.put((first, min(first + BATCH, records)))
    applied: list[int] = []
    lock = threading.Lock()
    pacer = Pacer(margin)
    started = time.monotonic()
    with client as api:
        threads = [
            threading.Thread(target=worker, args=(api, operation, pacer, batches, applied, lock))
            for _ in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.monotonic() - started
    print(json.dumps({"applied": len(applied), "applied_indexes": sorted(applied), "seconds": seconds}))


if __name__ == "__main__":
    main()
