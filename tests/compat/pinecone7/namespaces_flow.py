"""Run by the 7.x pinecone client in its own environment: python namespaces_flow.py URL TOKEN. The
namespace calls 7.x has (list, describe, delete, query_namespaces); exits non-zero on any mismatch and
prints 'pinecone 7.3.0 namespaces ok' at the end."""

import random
import sys

import pinecone
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import NotFoundException

url, token = sys.argv[1], sys.argv[2]
pc = Pinecone(api_key=token, host=url)
name = "pinecone7-namespaces"
pc.create_index(name, dimension=4, metric="euclidean", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
index = pc.Index(name)
rng = random.Random(1)
vectors = {f"v{i}": [rng.uniform(-1, 1) for _ in range(4)] for i in range(30)}
for part, namespace in enumerate(("a", "b", "c")):
    batch = [(f"v{i}", vectors[f"v{i}"], {"part": part}) for i in range(part * 10, part * 10 + 10)]
    index.upsert(vectors=batch, namespace=namespace)

first = index.list_namespaces_paginated(limit=2)
assert [ns.name for ns in first.namespaces] == ["a", "b"], first
rest = index.list_namespaces_paginated(limit=2, pagination_token=first.pagination.next)
assert [ns.name for ns in rest.namespaces] == ["c"] and not rest.get("pagination"), rest
assert [ns.name for ns in index.list_namespaces(limit=2)] == ["a", "b", "c"]  # 7.x yields each one
described = index.describe_namespace(namespace="b")
assert described.name == "b" and described.record_count == 10, described

query = [0.5, -0.25, 0.1, 0.9]
merged = index.query_namespaces(
    vector=query, namespaces=["a", "b", "c", "missing"], metric="euclidean", top_k=5, include_metadata=True
)
distances = sorted((sum((x - y) ** 2 for x, y in zip(v, query, strict=True)), i) for i, v in vectors.items())
assert [m.id for m in merged.matches] == [i for _, i in distances[:5]], merged
assert all(abs(m.score - d) < 1e-4 for m, (d, _) in zip(merged.matches, distances[:5], strict=True)), merged

index.delete_namespace(namespace="b")
try:
    index.describe_namespace(namespace="b")
except NotFoundException:
    pass
else:
    raise AssertionError("a deleted namespace must be gone")
assert index.fetch(ids=["v10"], namespace="b").vectors == {}
assert sorted(index.describe_index_stats().namespaces) == ["a", "c"]
pc.delete_index(name)
print(f"pinecone {pinecone.__version__} namespaces ok")
