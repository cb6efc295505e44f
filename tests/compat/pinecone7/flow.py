"""Run by the 7.x pinecone client in its own environment: python flow.py URL TOKEN. Exits non-zero on any
mismatch; prints 'pinecone 7.3.0 flow ok' at the end."""

import random
import sys

import pinecone
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import ForbiddenException, NotFoundException, PineconeApiException

url, token = sys.argv[1], sys.argv[2]
pc = Pinecone(api_key=token, host=url)
name = "pinecone7-flow"
pc.create_index(name, dimension=8, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1"))
assert name in pc.list_indexes().names()
description = pc.describe_index(name)
assert description.dimension == 8 and description.metric == "cosine" and description.status["ready"]
index = pc.Index(name)
rng = random.Random(0)
vectors = [[rng.uniform(-1, 1) for _ in range(8)] for _ in range(100)]
for start in range(0, 100, 64):
    batch = [
        (str(i), vectors[i], {"text": f"passage {i}", "even": i % 2 == 0})
        for i in range(start, min(start + 64, 100))
    ]
    assert index.upsert(vectors=batch).upserted_count == len(batch)
stats = index.describe_index_stats()
assert stats.dimension == 8 and stats.total_vector_count == 100, stats
assert stats.namespaces[""].vector_count == 100, stats
result = index.query(vector=vectors[3], top_k=5, include_metadata=True)
assert result.matches[0].id == "3" and abs(result.matches[0].score - 1.0) < 1e-5, result
assert result.matches[0].metadata == {"text": "passage 3", "even": False}
filtered = index.query(vector=vectors[3], top_k=100, filter={"even": True})
assert len(filtered.matches) == 50 and all(int(m.id) % 2 == 0 for m in filtered.matches)
fetched = index.fetch(ids=["1", "2"])
assert sorted(fetched.vectors) == ["1", "2"]
index.update(id="1", set_metadata={"text": "changed"})
assert index.fetch(ids=["1"]).vectors["1"].metadata["text"] == "changed"
assert sorted(sum(index.list(prefix="9"), [])) == [
    "9",
    "90",
    "91",
    "92",
    "93",
    "94",
    "95",
    "96",
    "97",
    "98",
    "99",
]
index.delete(ids=["1"])
assert index.describe_index_stats().total_vector_count == 99
try:
    index.upsert(vectors=[("x", [1.0, 2.0])])
except PineconeApiException as error:
    assert error.status == 400 and "does not match the dimension" in str(error.body), error.body
else:
    raise AssertionError("a wrong dimension must fail")
pc.configure_index(name, deletion_protection="enabled")
try:
    pc.delete_index(name)
except ForbiddenException:
    pass
else:
    raise AssertionError("deletion protection must hold")
pc.configure_index(name, deletion_protection="disabled")
pc.delete_index(name)
assert name not in pc.list_indexes().names()
try:
    pc.describe_index(name)
except NotFoundException:
    pass
print(f"pinecone {pinecone.__version__} flow ok")
