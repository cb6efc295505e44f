"""Run by the 7.x pinecone client in its own environment: python imports_flow.py URL TOKEN DIR, where DIR
holds the Parquet sources test_pinecone.py wrote (src, bad, large). Every bulk-import call 7.x has
(start_import, describe_import, list_imports, list_imports_paginated, cancel_import); exits non-zero on
any mismatch and prints 'pinecone 7.3.0 imports ok' at the end."""

import sys
import time

import pinecone
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import NotFoundException, PineconeApiException

url, token, sources = sys.argv[1], sys.argv[2], sys.argv[3]
pc = Pinecone(api_key=token, host=url)
name = "pinecone7-imports"
pc.create_index(name, dimension=4, metric="dotproduct", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
index = pc.Index(name)


def wait(import_id):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = index.describe_import(id=import_id)
        if found.status in ("Completed", "Failed", "Cancelled"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"import {import_id} did not end: {found}")


# src: 20 records in the default namespace (metadata on the even ones), 10 in "films" with sparse values.
started = index.start_import(uri=f"file://{sources}/src")  # 7.x's default error mode is CONTINUE
done = wait(started.id)
assert (done.status, done.records_imported, done.percent_complete) == ("Completed", 30, 100.0), done
assert done.uri == f"file://{sources}/src" and done.error is None, done
assert done.created_at <= done.finished_at, done  # 7.x reads both as datetimes
stats = index.describe_index_stats()
assert {namespace: ns.vector_count for namespace, ns in stats.namespaces.items()} == {"": 20, "films": 10}
fetched = index.fetch(ids=["r2", "r3"]).vectors
assert fetched["r2"].values == [2.0, 1.0, -1.0, 0.5] and fetched["r2"].metadata == {"i": 2}, fetched
assert not fetched["r3"].metadata, fetched
film = index.fetch(ids=["f4"], namespace="films").vectors["f4"]
assert (film.sparse_values.indices, film.sparse_values.values) == ([4, 11], [0.5, 0.25]), film

# bad: ok-1, a record one value short, ok-2.
skipping = wait(index.start_import(uri=f"{sources}/bad", error_mode="continue").id)
assert (skipping.status, skipping.records_imported) == ("Completed", 2), skipping
assert skipping.error.startswith("Skipped 1 of 3 records"), skipping
index.delete(delete_all=True, namespace="checked")
aborting = wait(index.start_import(uri=f"{sources}/bad", error_mode="ABORT").id)
assert (aborting.status, aborting.records_imported) == ("Failed", 1), aborting
assert aborting.error.startswith("Record 1 of checked/0.parquet"), aborting
assert sorted(index.fetch(ids=["ok-1", "ok-2"], namespace="checked").vectors) == ["ok-1"]

# large: many batches, so the cancel lands while it runs.
running = index.start_import(uri=f"{sources}/large")
assert index.cancel_import(id=running.id) == {}
cancelled = wait(running.id)
assert cancelled.status == "Cancelled" and cancelled.records_imported < 400_000, cancelled

listed = [item.id for item in index.list_imports()]
assert len(listed) == 4 and listed[0] == started.id and listed[3] == running.id, listed
page = index.list_imports_paginated(limit=3)
assert [item.id for item in page.data] == listed[:3] and page.pagination.next, page
rest = index.list_imports_paginated(limit=3, pagination_token=page.pagination.next)
assert [item.id for item in rest.data] == listed[3:] and rest.get("pagination") is None, rest

try:
    index.describe_import(id="999999")
except NotFoundException:
    pass
else:
    raise AssertionError("an unknown import must be a 404")
try:
    index.start_import(uri="s3://bucket/prefix/")
except PineconeApiException as refused:
    assert refused.status == 400 and "only from local directories" in refused.body, refused
else:
    raise AssertionError("an import from a bucket must be refused")
assert len(list(index.list_imports())) == 4
pc.delete_index(name)
print(f"pinecone {pinecone.__version__} imports ok")
