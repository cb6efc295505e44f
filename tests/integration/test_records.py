"""Indexes with integrated inference over HTTP: long documents in, a text query, the right chunk out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from tests.support.server import RunningServer, index_name_for

WHALES = (
    "The blue whale is the largest animal known to have ever existed. Adults reach thirty metres in "
    "length and weigh up to two hundred tonnes. Their hearts alone can weigh as much as a small car. "
    "Blue whales feed almost exclusively on krill, tiny crustaceans that swarm in cold waters. "
    "A single whale may eat four tonnes of krill on a summer day."
)
VOLCANOES = (
    "A volcano is a rupture in the crust of a planet that lets hot lava and gases escape. Most "
    "volcanoes sit where tectonic plates diverge or converge. Iceland straddles the Mid-Atlantic "
    "Ridge and has dozens of active volcanoes. Eruptions can darken the sky with ash for weeks and "
    "disrupt air travel across a continent."
)
BREAD = (
    "Bread is made by mixing flour, water, salt and yeast into a dough. The yeast ferments sugars "
    "and releases carbon dioxide, which makes the dough rise. Baking sets the crumb and browns the "
    "crust. Sourdough uses a culture of wild yeast and lactic acid bacteria instead of baker's yeast."
)


class Records:
    def __init__(self, server: RunningServer, index: str) -> None:
        self.server = server
        self.index = index
        self.headers = {"Api-Key": server.token or ""}

    def create(self, model: str, **extra: Any) -> requests.Response:
        body = {
            "name": self.index,
            "cloud": "aws",
            "region": "us-east-1",
            "embed": {"model": model, "field_map": {"text": "body"}},
            **extra,
        }
        return requests.post(
            f"{self.server.url}/indexes/create-for-model", json=body, headers=self.headers, timeout=60
        )

    def upsert(self, records: list[dict[str, Any]], namespace: str = "docs") -> requests.Response:
        lines = b"\n".join(orjson.dumps(record) for record in records)
        return requests.post(
            f"{self.server.url}/indexes/{self.index}/records/namespaces/{namespace}/upsert",
            data=lines,
            headers={**self.headers, "Content-Type": "application/x-ndjson"},
            timeout=120,
        )

    def search(self, text: str, top_k: int = 3, namespace: str = "docs", **extra: Any) -> requests.Response:
        body = {"query": {"inputs": {"text": text}, "top_k": top_k, **extra.pop("query", {})}, **extra}
        return requests.post(
            f"{self.server.url}/indexes/{self.index}/records/namespaces/{namespace}/search",
            json=body,
            headers=self.headers,
            timeout=60,
        )

    def count(self, namespace: str = "docs") -> int:
        stats = requests.post(
            f"{self.server.url}/indexes/{self.index}/describe_index_stats",
            json={},
            headers=self.headers,
            timeout=30,
        ).json()
        return int(stats["namespaces"].get(namespace, {}).get("vectorCount", 0))

    def delete(self, ids: list[str], namespace: str = "docs") -> requests.Response:
        return requests.post(
            f"{self.server.url}/indexes/{self.index}/vectors/delete",
            json={"ids": ids, "namespace": namespace},
            headers=self.headers,
            timeout=30,
        )


@pytest.fixture
def inference_id(server: RunningServer) -> Iterator[str]:
    """A local-service inference endpoint with small sentence chunks, so each document has several."""
    name = f"records-{uuid.uuid4().hex[:8]}"
    body = {
        "service": "inferhouse",
        "service_settings": {"endpoint": "all-minilm-l6-v2"},
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
    }
    reply = requests.put(
        f"{server.url}/_inference/text_embedding/{name}", json=body, headers=server.headers, timeout=60
    )
    assert reply.status_code == 200, reply.text
    yield name
    requests.delete(f"{server.url}/_inference/{name}?force=true", headers=server.headers, timeout=30)


@pytest.fixture
def records(server: RunningServer, request: pytest.FixtureRequest) -> Iterator[Records]:
    found = Records(server, index_name_for(request.node.name, "rec"))
    yield found
    requests.delete(f"{server.url}/indexes/{found.index}", headers=found.headers, timeout=30)


DOCS = [
    {"_id": "whales", "body": WHALES, "topic": "animals"},
    {"_id": "volcanoes", "body": VOLCANOES, "topic": "geology"},
    {"_id": "bread", "body": BREAD, "topic": "food"},
]


def test_long_documents_in_text_query_right_chunk_out(records: Records, inference_id: str) -> None:
    created = records.create(inference_id)
    assert created.status_code == 201, created.text
    description = created.json()
    assert description["embed"]["model"] == inference_id
    assert description["embed"]["dimension"] == 384
    assert description["schema"]["fields"]["body"]["type"] == "semantic_text"
    assert records.upsert(DOCS).status_code == 201
    assert records.count() > len(DOCS)  # every document became several chunks

    reply = records.search("What do blue whales eat?", top_k=2)
    assert reply.status_code == 200, reply.text
    hits = reply.json()["result"]["hits"]
    assert hits[0]["_id"] == "whales"
    assert len({hit["_id"] for hit in hits}) == len(hits)  # one hit per record, not per chunk
    best = hits[0]
    chunk = best["_chunk"]
    assert WHALES[chunk["start_offset"] : chunk["end_offset"]] == best["fields"]["body"]
    assert "krill" in best["fields"]["body"]
    assert best["fields"]["topic"] == "animals"
    assert reply.json()["usage"]["read_units"] == 1

    only = records.search("eruptions and ash", top_k=3, fields=["topic"])
    assert only.json()["result"]["hits"][0] == {
        **only.json()["result"]["hits"][0],
        "fields": {"topic": "geology"},
    }

    filtered = records.search(
        "What do blue whales eat?", top_k=3, query={"filter": {"topic": {"$eq": "food"}}}
    )
    assert [hit["_id"] for hit in filtered.json()["result"]["hits"]] == ["bread"]


def test_reupsert_and_delete_leave_no_orphan_chunks(records: Records, inference_id: str) -> None:
    assert records.create(inference_id).status_code == 201
    assert records.upsert(DOCS).status_code == 201
    before = records.count()
    short = {"_id": "whales", "body": "Whales are mammals.", "topic": "animals"}
    assert records.upsert([short]).status_code == 201
    whale_chunks_before = before - records.count() + 1
    assert whale_chunks_before > 1
    hit = records.search("Whales are mammals", top_k=1).json()["result"]["hits"][0]
    assert hit["_id"] == "whales"
    assert hit["fields"]["body"] == "Whales are mammals."
    after_reupsert = records.count()
    assert records.delete(["whales"]).status_code == 200
    assert records.count() == after_reupsert - 1
    remaining = {hit["_id"] for hit in records.search("whales krill", top_k=10).json()["result"]["hits"]}
    assert remaining == {"volcanoes", "bread"}


def test_bad_records_change_nothing(records: Records, inference_id: str) -> None:
    assert records.create(inference_id).status_code == 201
    missing_text = records.upsert([DOCS[0], {"_id": "x", "topic": "none"}])
    assert missing_text.status_code == 400
    assert missing_text.json()["code"] == 3
    assert "field 'body'" in missing_text.json()["message"]
    not_json = records.upsert([DOCS[0]])  # valid
    assert not_json.status_code == 201
    broken = requests.post(
        f"{records.server.url}/indexes/{records.index}/records/namespaces/docs/upsert",
        data=b'{"_id": "y", "body": "fine"}\n{not json',
        headers={**records.headers, "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert broken.status_code == 400
    assert records.search("anything", top_k=10).json()["result"]["hits"][0]["_id"] == "whales"
    assert {hit["_id"] for hit in records.search("anything", top_k=10).json()["result"]["hits"]} == {"whales"}


def test_index_bound_to_an_endpoint_and_inference_deletion_guard(
    records: Records, server: RunningServer, inference_id: str
) -> None:
    assert records.create(inference_id).status_code == 201
    guarded = requests.delete(f"{server.url}/_inference/{inference_id}", headers=server.headers, timeout=30)
    assert guarded.status_code == 400
    assert records.index in guarded.json()["error"]["reason"]
    unknown = Records(server, records.index + "-x").create("no-such-model")
    assert unknown.status_code == 400
    assert "no-such-model" in unknown.json()["error"]["message"]


def test_embed_route(server: RunningServer) -> None:
    body = {"model": "all-minilm-l6-v2", "inputs": [{"text": "a whale"}, {"text": "a volcano"}]}
    reply = requests.post(
        f"{server.url}/embed", json=body, headers={"Api-Key": server.token or ""}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["vector_type"] == "dense"
    assert [len(item["values"]) for item in data["data"]] == [384, 384]
    assert data["usage"]["total_tokens"] > 0
