"""Integrated inference through the real pinecone client: an index created for a model, text records in,
text queries (and reranking) out, and the ``embed``/``rerank`` inference calls. 10.x runs in-process;
7.x runs the same flow in its own virtual environment (``pinecone7/records_flow.py``)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pinecone import DenseEmbedding, Index, Pinecone

from tests.compat import test_pinecone
from tests.support.models import build_tiny_cross_encoder
from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint, index_name_for

PINECONE7_RECORDS_FLOW = Path(__file__).parent / "pinecone7" / "records_flow.py"
MODEL = "all-minilm-l6-v2"
RANKER = "pc-records-ranker"

# The 7.x client's virtual environment, made once per session (shared with test_pinecone).
pinecone7_python = test_pinecone.pinecone7_python

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
# About 450 words: more than one chunk under the default chunking (sentences, at most 250 words).
LOG = " ".join(
    f"Entry {n} of the ship's log records calm seas, a steady westerly wind and clear skies."
    for n in range(30)
)


@pytest.fixture(scope="module")
def ranker(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sentence-ranking endpoint serving a tiny random cross-encoder, made through the management API."""
    model = build_tiny_cross_encoder(tmp_path_factory.mktemp("ranker") / "model")
    deploy_endpoint(server, RANKER, model, "sentence-ranking")
    yield RANKER
    delete_endpoint(server, RANKER)


@pytest.fixture
def index_name(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "rec")
    yield name
    if pc.has_index(name):
        pc.delete_index(name)


@pytest.fixture
def make_index(pc: Pinecone, index_name: str) -> Iterator[Callable[[], Index]]:
    """Create the test's index for the bundled model and open it; connections closed after the test."""
    opened: list[Index] = []

    def make() -> Index:
        pc.create_index_for_model(
            name=index_name,
            cloud="aws",
            region="us-east-1",
            embed={"model": MODEL, "field_map": {"text": "chunk_text"}},
        )
        index = pc.Index(index_name)
        assert isinstance(index, Index)  # the HTTP client, not gRPC
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


def _vector_count(index: Index, namespace: str = "docs") -> int:
    summary = index.describe_index_stats().namespaces.get(namespace)
    return 0 if summary is None else int(summary.vector_count)


def test_create_for_model_is_ready_at_once_and_describes_the_model(pc: Pinecone, index_name: str) -> None:
    started = time.monotonic()
    created = pc.create_index_for_model(
        name=index_name,
        cloud="aws",
        region="us-east-1",
        embed={"model": MODEL, "field_map": {"text": "chunk_text"}},
    )
    assert time.monotonic() - started < 4  # ready on the first poll, not after the client's 5 s wait
    assert created.name == index_name
    assert created.status.ready
    described = pc.describe_index(index_name)
    assert described.embed is not None
    assert described.embed.model == MODEL
    assert described.embed.field_map == {"text": "chunk_text"}
    assert described.dimension == 384
    assert described.metric == "cosine"
    assert index_name in pc.list_indexes().names()


def test_upsert_records_then_search_by_text(make_index: Callable[[], Index]) -> None:
    index = make_index()
    index.upsert_records(namespace="docs", records=DOCS)
    assert _vector_count(index) == 3  # short documents: one chunk each

    found = index.search(
        namespace="docs",
        query={"inputs": {"text": "What do blue whales eat?"}, "top_k": 2},
        fields=["chunk_text", "category"],
    )
    hits = found.result.hits
    assert len(hits) == 2
    assert hits[0].id == "whales"
    assert hits[0].fields == {"chunk_text": WHALES, "category": "animals"}
    assert hits[0].score >= hits[1].score
    assert found.usage.read_units >= 1
    assert found.usage.embed_total_tokens is not None
    assert found.usage.embed_total_tokens > 0
    assert found.usage.rerank_units is None  # no rerank stage ran

    filtered = index.search(
        namespace="docs",
        query={
            "inputs": {"text": "What do blue whales eat?"},
            "top_k": 3,
            "filter": {"category": {"$eq": "food"}},
        },
    )
    assert [hit.id for hit in filtered.result.hits] == ["bread"]
    # 10.x sends no ``fields`` by default: every field comes back.
    assert filtered.result.hits[0].fields == {"chunk_text": BREAD, "category": "food"}

    alias = index.search_records(
        namespace="docs", query={"inputs": {"text": "lava and ash"}, "top_k": 1}, fields=["category"]
    )
    assert [(hit.id, hit.fields) for hit in alias.result.hits] == [("volcanoes", {"category": "geology"})]

    flat = index.search(namespace="docs", top_k=1, inputs={"text": "flour and yeast"})
    assert flat.result.hits[0].id == "bread"


def test_default_namespace(make_index: Callable[[], Index]) -> None:
    index = make_index()
    index.upsert_records(namespace="__default__", records=DOCS[:2])
    assert _vector_count(index, "") == 2
    hits = index.search(
        namespace="__default__", query={"inputs": {"text": "volcanic eruptions"}, "top_k": 1}
    ).result.hits
    assert [hit.id for hit in hits] == ["volcanoes"]


def test_reupsert_and_delete_leave_no_orphan_chunks(make_index: Callable[[], Index]) -> None:
    index = make_index()
    index.upsert_records(
        namespace="docs", records=[*DOCS, {"id": "log", "chunk_text": LOG, "category": "sea"}]
    )
    log_chunks = _vector_count(index) - len(DOCS)
    assert log_chunks > 1
    hit = index.search(
        namespace="docs", query={"inputs": {"text": "westerly wind in the ship's log"}, "top_k": 1}
    ).result.hits[0]
    assert hit.id == "log"
    assert hit.fields["chunk_text"] in LOG
    assert len(hit.fields["chunk_text"]) < len(LOG)  # a chunk, not the whole record

    index.upsert_records(
        namespace="docs", records=[{"id": "log", "chunk_text": "Calm seas.", "category": "sea"}]
    )
    assert _vector_count(index) == len(DOCS) + 1
    hit = index.search(namespace="docs", query={"inputs": {"text": "calm seas"}, "top_k": 1}).result.hits[0]
    assert (hit.id, hit.fields["chunk_text"]) == ("log", "Calm seas.")

    index.delete(ids=["log", "whales"], namespace="docs")
    assert _vector_count(index) == len(DOCS) - 1
    remaining = index.search(namespace="docs", query={"inputs": {"text": "calm seas"}, "top_k": 10})
    assert sorted(hit.id for hit in remaining.result.hits) == ["bread", "volcanoes"]


def test_search_with_rerank(pc: Pinecone, make_index: Callable[[], Index], ranker: str) -> None:
    index = make_index()
    index.upsert_records(namespace="docs", records=DOCS)
    question = "What do blue whales eat?"
    reranked = index.search(
        namespace="docs",
        query={"inputs": {"text": question}, "top_k": 3},
        fields=["category"],
        rerank={"model": ranker, "rank_fields": ["chunk_text"], "top_n": 2},
    )
    hits = reranked.result.hits
    assert len(hits) == 2  # top_n, not top_k
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert reranked.usage.rerank_units is not None
    assert reranked.usage.rerank_units >= 1
    # The random model's order means nothing, but it is the cross-encoder's: the same as /rerank gives
    # for the three records' texts (ranked on chunk_text though only category was asked for).
    direct = pc.inference.rerank(model=ranker, query=question, documents=[doc["chunk_text"] for doc in DOCS])
    expected = [(DOCS[item.index]["_id"], item.score) for item in direct.data[:2]]
    assert [hit.id for hit in hits] == [record_id for record_id, _ in expected]
    assert scores == pytest.approx([score for _, score in expected], abs=1e-5)
    categories = {doc["_id"]: doc["category"] for doc in DOCS}
    assert [hit.fields for hit in hits] == [{"category": categories[hit.id]} for hit in hits]


def test_inference_rerank_and_embed(pc: Pinecone, ranker: str) -> None:
    documents = [{"id": "d1", "text": WHALES}, {"id": "d2", "text": VOLCANOES}, {"id": "d3", "text": BREAD}]
    ranked = pc.inference.rerank(
        model=ranker, query="What do whales eat?", documents=documents, top_n=2, return_documents=True
    )
    assert len(ranked.data) == 2
    assert ranked.data[0].score >= ranked.data[1].score
    assert len({item.index for item in ranked.data}) == 2
    for item in ranked.data:
        assert item.document == documents[item.index]
    assert ranked.usage.rerank_units >= 1

    embedded = pc.inference.embed(
        model=MODEL,
        inputs=["The blue whale eats krill.", "Bread rises."],
        parameters={"input_type": "passage"},
    )
    assert embedded.vector_type == "dense"
    vectors: list[list[float]] = []
    for embedding in embedded.data:
        assert isinstance(embedding, DenseEmbedding)
        vectors.append(embedding.values)
    assert [len(values) for values in vectors] == [384, 384]
    assert vectors[0] != vectors[1]
    assert embedded.usage.total_tokens > 0


def test_pinecone7_records_flow(server: RunningServer, pinecone7_python: Path, ranker: str) -> None:
    result = subprocess.run(
        [str(pinecone7_python), str(PINECONE7_RECORDS_FLOW), server.url, server.token or "", ranker],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pinecone 7.3.0 records flow ok" in result.stdout
