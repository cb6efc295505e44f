"""The playground of an embedding endpoint: embed a few texts, compare them, and show the same call as
code for ``curl``, ``requests``, ``huggingface_hub`` and ``openai`` with the endpoint's real URL.

The texts go to the endpoint's TEI ``/embed`` route as the signed-in token; the snippets name the token
as ``$INFERHOUSE_TOKEN`` and never contain it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from inferhouse.ui.api_calls import Refused
from inferhouse.ui.endpoints import ACTIONS, describe
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, render, session_of

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

MAX_TEXTS = 8
FIRST_VALUES = 8


@dataclass(frozen=True)
class Embedded:
    texts: list[str]
    dimensions: int
    first_values: list[list[float]]
    similarity: list[list[float]]  # cosine similarity of every pair of texts
    snippets: dict[str, str]


def cosine_matrix(vectors: list[list[float]]) -> list[list[float]]:
    norms = [math.sqrt(sum(value * value for value in vector)) or 1.0 for vector in vectors]
    return [
        [
            sum(x * y for x, y in zip(a, b, strict=True)) / (norm_a * norm_b)
            for b, norm_b in zip(vectors, norms, strict=True)
        ]
        for a, norm_a in zip(vectors, norms, strict=True)
    ]


def snippets(base_url: str, name: str, texts: list[str]) -> dict[str, str]:
    """The call just made, as code a user can paste; the token comes from the environment."""
    url = f"{base_url}/endpoints/{quote(name, safe='')}"
    inputs = json.dumps(texts, ensure_ascii=False)
    body = json.dumps({"inputs": texts}, ensure_ascii=False).replace("'", "'\\''")
    return {
        "curl": (
            f"curl {url}/embed \\\n"
            '  -H "Authorization: Bearer $INFERHOUSE_TOKEN" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'"
        ),
        "requests": (
            "import os\nimport requests\n\n"
            f"reply = requests.post(\n    {json.dumps(url + '/embed')},\n"
            '    headers={"Authorization": f"Bearer {os.environ[\'INFERHOUSE_TOKEN\']}"},\n'
            f'    json={{"inputs": {inputs}}},\n)\nvectors = reply.json()'
        ),
        "huggingface_hub": (
            "import os\nfrom huggingface_hub import InferenceClient\n\n"
            f'client = InferenceClient(model={json.dumps(url)}, token=os.environ["INFERHOUSE_TOKEN"])\n'
            f"vectors = [client.feature_extraction(text) for text in {inputs}]"
        ),
        "openai": (
            "import os\nfrom openai import OpenAI\n\n"
            f"client = OpenAI(base_url={json.dumps(base_url + '/v1')}, "
            'api_key=os.environ["INFERHOUSE_TOKEN"])\n'
            f"reply = client.embeddings.create(model={json.dumps(name)}, input={inputs})\n"
            "vectors = [item.embedding for item in reply.data]"
        ),
    }


@router.post(f"{PREFIX}/endpoints/{{name}}/embed")
async def embed(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    texts = [line.strip() for line in fields.get("texts", "").splitlines() if line.strip()][:MAX_TEXTS]
    result: Embedded | None = None
    error = None
    async with api(request, session) as calls:
        if not texts:
            error = "Type one or more texts, one per line."
        else:
            try:
                vectors = await calls.post(f"/endpoints/{quote(name, safe='')}/embed", {"inputs": texts})
                result = Embedded(
                    texts=texts,
                    dimensions=len(vectors[0]),
                    first_values=[[round(value, 4) for value in vector[:FIRST_VALUES]] for vector in vectors],
                    similarity=[[round(value, 3) for value in line] for line in cosine_matrix(vectors)],
                    snippets=snippets(calls.base_url, name, texts),
                )
            except Refused as refused:
                if refused.status == 401:
                    raise
                error = refused.message
    context: dict[str, Any] = {"result": result, "error": error, "texts": "\n".join(texts), "name": name}
    if request.headers.get("hx-request"):
        return render(request, "playground_result.html", session, **context)
    endpoint = await describe(request, session, name)
    return render(request, "endpoint.html", session, endpoint=endpoint, actions=ACTIONS, **context)
