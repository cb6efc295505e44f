"""Run by the 7.x pinecone client in its own environment: python backups_flow.py URL TOKEN. Every backup
and restore-job call 7.x has (create_backup, list_backups, describe_backup, delete_backup,
create_index_from_backup, list_restore_jobs, describe_restore_job); exits non-zero on any mismatch and
prints 'pinecone 7.3.0 backups ok' at the end."""

import random
import sys

import pinecone
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import NotFoundException, PineconeApiException

url, token = sys.argv[1], sys.argv[2]
pc = Pinecone(api_key=token, host=url)
source_name, restored_name = "pinecone7-backup-source", "pinecone7-backup-restored"
pc.create_index(
    source_name,
    dimension=4,
    metric="dotproduct",
    spec=ServerlessSpec(cloud="aws", region="us-east-1"),
    tags={"team": "search"},
)
source = pc.Index(source_name)
rng = random.Random(3)
records = {
    namespace: {f"{namespace or 'default'}-{i}": [rng.uniform(-1, 1) for _ in range(4)] for i in range(12)}
    for namespace in ("", "films")
}
for namespace, vectors in records.items():
    source.upsert(
        vectors=[(key, values, {"n": len(key)}) for key, values in vectors.items()], namespace=namespace
    )
source.upsert(
    vectors=[
        {"id": "hybrid", "values": [1.0, 0.0, 0.0, 0.0], "sparse_values": {"indices": [5], "values": [0.5]}}
    ],
    namespace="films",
)

# 7.x always sends a description ("" when none is given): that is no description.
plain = pc.create_backup(index_name=source_name, backup_name="plain")
assert (plain.status, plain.name, plain.description) == ("Ready", "plain", None), plain
backup = pc.create_backup(index_name=source_name, backup_name="nightly", description="before a change")
assert (backup.status, backup.name, backup.description) == ("Ready", "nightly", "before a change"), backup
assert (backup.source_index_name, backup.dimension, backup.metric) == (source_name, 4, "dotproduct"), backup
assert (backup.record_count, backup.namespace_count) == (25, 2), backup
assert backup.size_bytes > 0 and backup.to_dict()["tags"] == {"team": "search"}, backup
assert pc.describe_backup(backup_id=backup.backup_id).to_dict() == backup.to_dict()
assert [found.backup_id for found in pc.list_backups(index_name=source_name)] == [
    plain.backup_id,
    backup.backup_id,
]
assert backup.backup_id in [found.backup_id for found in pc.list_backups(limit=100)]
first = pc.list_backups(index_name=source_name, limit=1)
assert [found.backup_id for found in first] == [plain.backup_id] and first.pagination.next, first
rest = pc.list_backups(index_name=source_name, limit=1, pagination_token=first.pagination.next)
assert [found.backup_id for found in rest] == [backup.backup_id] and rest.get("pagination") is None, rest

# Later writes to the source change neither the backup nor what it restores.
source.upsert(vectors=[("late", [0.5, 0.5, 0.5, 0.5])])
source.delete(ids=["films-3"], namespace="films")

described = pc.create_index_from_backup(backup_id=backup.backup_id, name=restored_name)
assert described.status.ready and described.name == restored_name, described
assert (described.dimension, described.metric) == (4, "dotproduct"), described
assert described.to_dict()["tags"] == {"team": "search"}, described  # the backup's, when none are given
restored = pc.Index(restored_name)
stats = restored.describe_index_stats()
assert {name: ns.vector_count for name, ns in stats.namespaces.items()} == {"": 12, "films": 13}, stats
for namespace, vectors in records.items():
    fetched = restored.fetch(ids=list(vectors), namespace=namespace).vectors
    assert sorted(fetched) == sorted(vectors), fetched
    for key, values in vectors.items():
        assert all(abs(a - b) < 1e-6 for a, b in zip(fetched[key].values, values, strict=True)), key
        assert fetched[key].metadata == {"n": len(key)}, fetched[key]
assert restored.fetch(ids=["late"]).vectors == {}
assert restored.fetch(ids=["hybrid"], namespace="films").vectors["hybrid"].sparse_values.indices == [5]

jobs = [job for job in pc.list_restore_jobs(limit=100) if job.target_index_name == restored_name]
assert len(jobs) == 1, jobs
job = pc.describe_restore_job(job_id=jobs[0].restore_job_id)
assert (job.status, job.percent_complete, job.backup_id) == ("Completed", 100.0, backup.backup_id), job
assert job.target_index_id and job.created_at <= job.completed_at, job

try:
    pc.create_index_from_backup(backup_id=backup.backup_id, name=restored_name, timeout=-1)
except PineconeApiException as taken:
    assert taken.status == 409, taken
else:
    raise AssertionError("restoring into an existing index must be refused")
for missing in (
    lambda: pc.describe_backup(backup_id="no-such-backup"),
    lambda: pc.describe_restore_job(job_id="no-such-job"),
    lambda: pc.create_backup(index_name="no-such-index", backup_name="x"),
):
    try:
        missing()
    except NotFoundException:
        pass
    else:
        raise AssertionError("an unknown backup, job or index must be a 404")

for made in (plain, backup):
    pc.delete_backup(backup_id=made.backup_id)
try:
    pc.describe_backup(backup_id=backup.backup_id)
except NotFoundException:
    pass
else:
    raise AssertionError("a deleted backup must be gone")
assert restored.describe_index_stats().total_vector_count == 25  # a restore does not need its backup
pc.delete_index(source_name)
pc.delete_index(restored_name)
print(f"pinecone {pinecone.__version__} backups ok")
