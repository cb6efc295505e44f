"""Run by the 7.x pinecone client in its own environment: python records_flow.py URL TOKEN RANKER, where
RANKER is a sentence-ranking endpoint. Integrated inference end to end in 7.x's call forms (positional
upsert_records, the empty default namespace). Exits non-zero on any mismatch; prints
'pinecone 7.3.0 records flow ok' at the end."""

import sys
import time

import pinecone
from pinecone import Pinecone

url, token, ranker = sys.argv[1], sys.argv[2], sys.argv[3]
pc = Pinecone(api_key=token, host=url)
name = "pinecone7-records-flow"
if name in pc.list_indexes().names():  # left over from an interrupted run
    pc.delete_index(name)

WHALES = (
    "The blue whale is the largest animal known to have ever existed. Adults reach thirty metres in "
    "length. Blue whales feed almost exclusively on krill, tiny crustaceans that swarm in cold waters."
)
VOLCANOES = (
    "A volcano is a rupture in the crust of a planet that lets hot lava and gases escape. Eruptions "
    "can darken the sky with ash for weeks and disrupt air travel across a continent."
)
BREAD = (
    "Bread is made by mixing flour, water, salt and yeast into a dough. The yeast ferments sugars and "
    "releases carbon dioxide, which makes the dough rise in the oven."
)
DOCS = [
    {"_id": "whales", "chunk_text": WHALES, "category": "animals"},
    {"_id": "volcanoes", "chunk_text": VOLCANOES, "category": "geology"},
    {"_id": "bread", "chunk_text": BREAD, "category": "food"},
]
LOG = " ".join(
    f"Entry {n} of the ship's log records calm seas, a steady westerly wind and clear skies."
    for n in range(30)
)


def count(index, namespace):
    summary = index.describe_index_stats().namespaces.get(namespace)
    return 0 if summary is None else summary.vector_count


started = time.monotonic()
created = pc.create_index_for_model(
    name=name,
    cloud="aws",
    region="us-east-1",
    embed={"model": "all-minilm-l6-v2", "field_map": {"text": "chunk_text"}},
)
assert time.monotonic() - started < 4, "the index must be ready on the client's first poll"
assert created.name == name and created.status["ready"], created
description = pc.describe_index(name)
assert description.embed.model == "all-minilm-l6-v2", description
assert description.embed.field_map == {"text": "chunk_text"}, description
assert description.dimension == 384 and description.metric == "cosine", description
index = pc.Index(name)

# 7.x's positional call form
index.upsert_records("docs", DOCS)
assert count(index, "docs") == 3
found = index.search(
    namespace="docs",
    query={"inputs": {"text": "What do blue whales eat?"}, "top_k": 2},
    fields=["chunk_text", "category"],
)
hits = found.result.hits
assert len(hits) == 2 and hits[0]._id == "whales", found
assert hits[0].fields == {"chunk_text": WHALES, "category": "animals"}, hits[0]
assert hits[0]._score >= hits[1]._score, found
assert found.usage["read_units"] >= 1 and found.usage["embed_total_tokens"] > 0, found
filtered = index.search(
    "docs",
    {"inputs": {"text": "What do blue whales eat?"}, "top_k": 3, "filter": {"category": {"$eq": "food"}}},
)
assert [hit._id for hit in filtered.result.hits] == ["bread"], filtered
assert filtered.result.hits[0].fields == {"chunk_text": BREAD, "category": "food"}, filtered  # fields ["*"]
alias = index.search_records("docs", {"inputs": {"text": "lava and ash"}, "top_k": 1}, fields=["category"])
assert [(hit._id, hit.fields) for hit in alias.result.hits] == [("volcanoes", {"category": "geology"})], alias

# 7.x sends the default namespace "" as an empty path segment: .../namespaces//upsert and //search
index.upsert_records("", DOCS[:2])
assert count(index, "") == 2
default = index.search("", {"inputs": {"text": "volcanic eruptions"}, "top_k": 1})
assert [hit._id for hit in default.result.hits] == ["volcanoes"], default

# A long record is several chunks; upserting it again shorter, then deleting it, leaves none behind.
index.upsert_records("docs", [{"id": "log", "chunk_text": LOG, "category": "sea"}])
assert count(index, "docs") > 4
hit = index.search("docs", {"inputs": {"text": "westerly wind in the ship's log"}, "top_k": 1}).result.hits[0]
assert hit._id == "log" and hit.fields["chunk_text"] in LOG and len(hit.fields["chunk_text"]) < len(LOG), hit
index.upsert_records("docs", [{"id": "log", "chunk_text": "Calm seas.", "category": "sea"}])
assert count(index, "docs") == 4
index.delete(ids=["log"], namespace="docs")
assert count(index, "docs") == 3
assert count(index, "") == 2

reranked = index.search(
    namespace="docs",
    query={"inputs": {"text": "What do blue whales eat?"}, "top_k": 3},
    rerank={"model": ranker, "rank_fields": ["chunk_text"], "top_n": 2},
    fields=["chunk_text"],
)
scores = [hit._score for hit in reranked.result.hits]
assert len(scores) == 2 and scores == sorted(scores, reverse=True), reranked
assert reranked.usage["rerank_units"] >= 1, reranked

documents = [{"id": "d1", "text": WHALES}, {"id": "d2", "text": VOLCANOES}, {"id": "d3", "text": BREAD}]
ranked = pc.inference.rerank(
    model=ranker, query="What do whales eat?", documents=documents, top_n=2, return_documents=True
)
assert len(ranked.data) == 2 and ranked.data[0].score >= ranked.data[1].score, ranked
for item in ranked.data:
    assert item.document.to_dict() == documents[item.index], item
embedded = pc.inference.embed(
    model="all-minilm-l6-v2", inputs=["The blue whale eats krill."], parameters={"input_type": "passage"}
)
assert len(embedded.data) == 1 and len(embedded.data[0].values) == 384, embedded
assert embedded.usage["total_tokens"] > 0, embedded

pc.delete_index(name)
assert name not in pc.list_indexes().names()
print(f"pinecone {pinecone.__version__} records flow ok")
