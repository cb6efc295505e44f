"""The RAG tutorial's flow against inferhouse: embed a corpus through the endpoint, upsert it into a
Pinecone-style index, query it with text, print the top 5 passages.

    INFERHOUSE_URL=http://127.0.0.1:8080 INFERHOUSE_TOKEN=... python examples/rag_tutorial.py ["question"]

Only the URLs differ from the hosted-services version: the embedding call is the Inference Endpoints
tutorial's `requests.post(...).json()["embeddings"]`, the index calls are the `pinecone` client's.
The corpus is Python's own documentation (pydoc topics), which ships with every Python.
"""

from __future__ import annotations

import os
import re
import sys
from pydoc_data.topics import topics

import requests
from pinecone import Pinecone

url = os.environ.get("INFERHOUSE_URL", "http://127.0.0.1:8080")
token = os.environ["INFERHOUSE_TOKEN"]
question = sys.argv[1] if len(sys.argv) > 1 else "How do I catch an exception?"
index_name = "pydoc-tutorial"

# 1. A corpus of passages: the prose paragraphs of the pydoc topics (code, tables and titles skipped).
passages = []
for name in sorted(topics):
    for number, block in enumerate(topics[name].split("\n\n")):
        paragraph = " ".join(block.split())
        if block.startswith(" ") or "***" in block or not 80 <= len(paragraph) <= 600:
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        passages.append({"id": f"{slug}-{number}", "text": paragraph, "topic": name})

# 2. Embed through the endpoint, 64 passages a request, as the tutorial does.
endpoint = f"{url}/endpoints/all-minilm-l6-v2"
headers = {"Authorization": f"Bearer {token}"}


def embed(texts: list[str]) -> list[list[float]]:
    res = requests.post(endpoint, headers=headers, json={"inputs": texts}, timeout=120)
    res.raise_for_status()
    return res.json()["embeddings"]


# 3. Create the index and upsert the vectors with their text as metadata.
pc = Pinecone(api_key=token, host=url)
if pc.has_index(index_name):
    pc.delete_index(index_name)
pc.create_index(index_name, dimension=384, metric="cosine")
index = pc.Index(index_name)
for start in range(0, len(passages), 64):
    batch = passages[start : start + 64]
    vectors = embed([p["text"] for p in batch])
    index.upsert(
        vectors=[
            (p["id"], v, {"text": p["text"], "topic": p["topic"]})
            for p, v in zip(batch, vectors, strict=True)
        ]
    )
print(f"indexed {index.describe_index_stats().total_vector_count} passages")

# 4. Query with text and print the top 5 passages.
xq = embed([question])[0]
result = index.query(vector=xq, top_k=5, include_metadata=True)
print(f"question: {question}")
for match in result.matches:
    print(f"{match.score:.3f}  [{match.metadata['topic']}]  {match.metadata['text'][:100]}")
index.close()
pc.close()
