"""Run by the 7.x pinecone client in its own environment: python quantized_flow.py URL TOKEN. A quantized
index is asked for by a tag, which 7.x sends as it is; the quantization cannot change afterwards. Exits
non-zero on any mismatch; prints 'pinecone 7.3.0 quantized ok' at the end."""

import sys

import pinecone
from pinecone import Pinecone, ServerlessSpec
from pinecone.exceptions import PineconeApiException

TAG = "inferhouse-quantization"
url, token = sys.argv[1], sys.argv[2]
pc = Pinecone(api_key=token, host=url)
name = "pinecone7-quantized"
spec = ServerlessSpec(cloud="aws", region="us-east-1")
pc.create_index(name, dimension=16, metric="cosine", spec=spec, tags={TAG: "binary", "team": "search"})
described = pc.describe_index(name).to_dict()
assert described["tags"] == {TAG: "binary", "team": "search"}, described
index = pc.Index(name)
vectors = [[float((i * 7 + j) % 5) - 2.0 for j in range(16)] for i in range(40)]
index.upsert(vectors=[(f"v{i}", vector, {"i": i}) for i, vector in enumerate(vectors)])
top = index.query(vector=vectors[3], top_k=1, include_values=True).matches[0]
assert top.id in {f"v{i}" for i, vector in enumerate(vectors) if vector == vectors[3]}, top
assert abs(top.score - 1.0) < 1e-6 and top.values == vectors[3], top

try:
    pc.configure_index(name, tags={TAG: "int8"})
except PineconeApiException as error:
    assert error.status == 400 and "fixed when an index is created" in str(error.body), error.body
else:
    raise AssertionError("the quantization must not change")
assert pc.describe_index(name).to_dict()["tags"][TAG] == "binary"
try:
    pc.create_index("pinecone7-int4", dimension=16, spec=spec, tags={TAG: "int4"})
except PineconeApiException as error:
    assert error.status == 400, error.body
else:
    raise AssertionError("an unknown quantization must be refused")
assert "pinecone7-int4" not in pc.list_indexes().names()
pc.delete_index(name)
print(f"pinecone {pinecone.__version__} quantized ok")
