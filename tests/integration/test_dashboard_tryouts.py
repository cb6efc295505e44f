"""Every task's playground against a real endpoint of that task (tiny models): what the page shows of the
reply, and the code for the call."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.support.dashboard import admin_session, csrf_of
from tests.support.diffusion_models import build_tiny_text_to_image
from tests.support.models import (
    build_tiny_classifier,
    build_tiny_cross_encoder,
    build_tiny_masked_lm,
    build_tiny_qa,
)
from tests.support.server import RunningServer, deploy_endpoint, start_server

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

# endpoint name -> (task, how its tiny model is built)
DEPLOYED: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "labels": ("text-classification", build_tiny_classifier),
    "ranker": ("sentence-ranking", build_tiny_cross_encoder),
    "masks": ("fill-mask", build_tiny_masked_lm),
    "answers": ("question-answering", build_tiny_qa),
    "pictures": ("text-to-image", build_tiny_text_to_image),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    declared = [{"name": "vectors", "model": str(tiny_model_dir), "task": "sentence-embeddings"}]
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(declared)}
    running = start_server(tmp_path_factory.mktemp("ui-tryouts-data"), env=env)
    try:
        models = tmp_path_factory.mktemp("ui-tryout-models")
        for name, (task, build) in DEPLOYED.items():
            deploy_endpoint(running, name, build(models / name), task)
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> requests.Session:
    return admin_session(server.url, server.token)


def _try(admin: requests.Session, server: RunningServer, name: str, kind: str, **fields: str) -> str:
    page = admin.get(f"{server.url}/ui/endpoints/{name}", timeout=30)
    assert f"/ui/endpoints/{name}/try/{kind}" in page.text  # the page offers this playground
    reply = admin.post(
        f"{server.url}/ui/endpoints/{name}/try/{kind}",
        data={"csrf": csrf_of(page.text), **fields},
        headers={"HX-Request": "true"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    assert 'role="alert"' not in reply.text, reply.text
    assert f"{server.url}/endpoints/{name}" in reply.text  # the code names the real URL
    return reply.text


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1].split("</tbody>", 1)[0])


def test_similarity_scores_each_sentence(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "vectors", "similarity", source="a cat", sentences=f"a cat\n{HOSTILE}")
    rows = _rows(html)
    assert len(rows) == 2
    assert "1.0000" in rows[0]  # a sentence is most like itself
    assert ESCAPED in rows[1]


def test_classification_shows_labels_and_scores(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "labels", "classify", text=HOSTILE)
    rows = _rows(html)
    assert rows
    assert all(re.search(r"<td[^>]*>LABEL_[01]</td>", row) for row in rows)  # the top label, and its score
    assert "client.text_classification" in html


def test_ranking_orders_the_texts(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "ranker", "rank", query="cats", texts=f"a dog\n{HOSTILE}\na kitten")
    rows = _rows(html)
    assert len(rows) == 3
    scores = [float(re.findall(r"<td[^>]*>(-?[\d.]+)</td>", row)[-1]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert any(ESCAPED in row for row in rows)


def test_fill_mask_lists_candidates(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "masks", "fill-mask", text="Paris is the [MASK] of France.")
    assert len(_rows(html)) >= 1
    assert "client.fill_mask" in html


def test_question_answering_shows_an_answer(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "answers", "question-answering", question="Where?", context="It is in Paris.")
    assert len(_rows(html)) >= 1
    assert "client.question_answering" in html


def test_text_to_image_shows_the_image(server: RunningServer, admin: requests.Session) -> None:
    html = _try(admin, server, "pictures", "text-to-image", prompt="a red square", steps="2", seed="7")
    image = re.search(r'<img class="generated-image" src="(data:image/png;base64,[A-Za-z0-9+/=]{40,})"', html)
    assert image is not None
    assert "--output image.png" in html  # the curl snippet saves the image
    assert "num_inference_steps=2, seed=7" in html  # and so does huggingface_hub's, with the parameters
    # The same seed draws the same image.
    again = _try(admin, server, "pictures", "text-to-image", prompt="a red square", steps="2", seed="7")
    assert image.group(1) in again
