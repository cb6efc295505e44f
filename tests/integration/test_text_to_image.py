"""Text-to-image endpoints: a tiny random Stable Diffusion pipeline served through the normal server,
called with ``huggingface_hub.InferenceClient`` and plain HTTP."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from huggingface_hub import InferenceClient, constants
from huggingface_hub.errors import HfHubHTTPError
from PIL import Image

from tests.support.diffusion_models import build_tiny_text_to_image
from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint, start_server

SD_ID = "inferhouse-tests/tiny-sd"
ENDPOINT = "tiny-sd"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Two steps keep each image at a few milliseconds; the seed makes it repeatable.
FAST = {"num_inference_steps": 2, "seed": 7}


@pytest.fixture(autouse=True)
def _client_may_reach_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub's offline mode refuses every request, loopback included; these go only to our server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(scope="module")
def sd_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_text_to_image(tmp_path_factory.mktemp("diffusion") / "tiny-sd")


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory, sd_model: Path) -> Iterator[RunningServer]:
    """A server without the bundled embedder, with the tiny pipeline as endpoint ``tiny-sd`` and as the
    serverless model ``inferhouse-tests/tiny-sd``."""
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_MODELS": json.dumps({SD_ID: str(sd_model)})}
    server = start_server(tmp_path_factory.mktemp("image-data"), env=env)
    try:
        deploy_endpoint(server, ENDPOINT, sd_model, "text-to-image")
        yield server
    finally:
        server.stop()


def _draw(
    server: RunningServer, parameters: dict[str, Any] | None = None, *, accept: str | None = None, **body: Any
) -> requests.Response:
    headers = dict(server.headers)
    if accept is not None:
        headers["Accept"] = accept
    payload = {"inputs": "an astronaut riding a horse", "parameters": {**FAST, **(parameters or {})}, **body}
    return requests.post(f"{server.url}/endpoints/{ENDPOINT}", headers=headers, json=payload, timeout=120)


def _image(reply: requests.Response) -> Image.Image:
    assert reply.status_code == 200, reply.text
    return Image.open(io.BytesIO(reply.content))


# InferenceClient, the way the brief's users call it


def test_inference_client_text_to_image(image_server: RunningServer, tmp_path: Path) -> None:
    client = InferenceClient(model=f"{image_server.url}/endpoints/{ENDPOINT}", token=image_server.token)
    image = client.text_to_image(
        "an astronaut riding a horse", height=48, width=64, num_inference_steps=2, guidance_scale=7.5, seed=1
    )
    assert isinstance(image, Image.Image)
    assert image.size == (64, 48)
    target = tmp_path / "astronaut.png"
    image.save(target)
    with Image.open(target) as saved:
        assert saved.format == "PNG"
        assert saved.size == (64, 48)


def test_inference_client_default_size_and_negative_prompt(image_server: RunningServer) -> None:
    client = InferenceClient(model=f"{image_server.url}/endpoints/{ENDPOINT}", token=image_server.token)
    image = client.text_to_image("a red fox", negative_prompt="blurry", num_inference_steps=2, seed=3)
    assert image.size == (32, 32)  # the pipeline's own default: UNet sample size 16, VAE factor 2


def test_inference_client_sees_validation_errors(image_server: RunningServer) -> None:
    client = InferenceClient(model=f"{image_server.url}/endpoints/{ENDPOINT}", token=image_server.token)
    with pytest.raises(HfHubHTTPError) as raised:
        client.text_to_image("a red fox", height=30, num_inference_steps=2)
    assert raised.value.response is not None
    assert raised.value.response.status_code == 422
    assert "height" in str(raised.value)


# Reply formats


def test_png_by_default(image_server: RunningServer) -> None:
    reply = _draw(image_server)
    assert reply.headers["content-type"] == "image/png"
    assert reply.content.startswith(PNG_MAGIC)
    assert reply.headers["x-seed"] == "7"
    image = _image(reply)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (32, 32))


def test_png_without_accept_header(image_server: RunningServer) -> None:
    # requests sends "Accept: */*" unless told otherwise; a raw call with no Accept at all also gets PNG.
    session = requests.Session()
    session.headers.pop("Accept", None)
    reply = session.post(
        f"{image_server.url}/endpoints/{ENDPOINT}",
        headers=image_server.headers,
        json={"inputs": "a cat", "parameters": FAST},
        timeout=120,
    )
    assert reply.headers["content-type"] == "image/png"
    assert _image(reply).format == "PNG"


def test_jpeg_on_accept(image_server: RunningServer) -> None:
    reply = _draw(image_server, {"height": 40, "width": 24}, accept="image/jpeg")
    assert reply.headers["content-type"] == "image/jpeg"
    image = _image(reply)
    assert (image.format, image.size) == ("JPEG", (24, 40))


def test_accept_prefers_what_the_caller_ranks_higher(image_server: RunningServer) -> None:
    reply = _draw(image_server, accept="image/png;q=0.5, image/jpeg;q=0.9")
    assert reply.headers["content-type"] == "image/jpeg"
    assert _draw(image_server, accept="image/*").headers["content-type"] == "image/png"


def test_json_with_base64_on_accept(image_server: RunningServer) -> None:
    reply = _draw(image_server, {"height": 16, "width": 48}, accept="application/json")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"image", "format", "width", "height", "seed"}
    assert (body["format"], body["width"], body["height"], body["seed"]) == ("png", 48, 16, 7)
    png = base64.b64decode(body["image"])
    assert png.startswith(PNG_MAGIC)
    assert Image.open(io.BytesIO(png)).size == (48, 16)
    # The same request as PNG is the same image, byte for byte.
    assert png == _draw(image_server, {"height": 16, "width": 48}, accept="image/png").content


def test_unsupported_accept_is_refused(image_server: RunningServer) -> None:
    reply = _draw(image_server, accept="image/webp")
    assert reply.status_code == 422
    body = reply.json()
    assert body["error_type"] == "validation"
    assert "image/png, image/jpeg, application/json" in body["error"]


# Seeds and parameters


def test_same_seed_same_bytes_other_seed_other_image(image_server: RunningServer) -> None:
    first = _draw(image_server, {"seed": 11}).content
    again = _draw(image_server, {"seed": 11}).content
    other = _draw(image_server, {"seed": 12}).content
    assert first == again
    assert _pixels(first) != _pixels(other)


def test_a_drawn_seed_is_returned_and_reproduces(image_server: RunningServer) -> None:
    headers = {**image_server.headers}
    body = {"inputs": "a lighthouse", "parameters": {"num_inference_steps": 2}}
    url = f"{image_server.url}/endpoints/{ENDPOINT}"
    first = requests.post(url, headers=headers, json=body, timeout=120)
    assert first.status_code == 200, first.text
    seed = int(first.headers["x-seed"])
    replay = {"inputs": "a lighthouse", "parameters": {"num_inference_steps": 2, "seed": seed}}
    assert requests.post(url, headers=headers, json=replay, timeout=120).content == first.content


@pytest.mark.parametrize(
    "change",
    [
        {"guidance_scale": 1.0},  # no classifier-free guidance
        {"guidance_scale": 12.0},
        {"num_inference_steps": 3},
        {"negative_prompt": "blurry, low resolution"},
        {"scheduler": "EulerDiscreteScheduler"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_parameters_change_the_image(image_server: RunningServer, change: dict[str, Any]) -> None:
    base = {"guidance_scale": 7.5}
    reference = _draw(image_server, base)
    changed = _draw(image_server, {**base, **change})
    assert changed.status_code == 200, changed.text
    assert _pixels(changed.content) != _pixels(reference.content)


def test_prompt_changes_the_image(image_server: RunningServer) -> None:
    first = _draw(image_server)
    other = _draw(image_server, inputs="a bowl of fruit on a table")
    assert _pixels(first.content) != _pixels(other.content)


def test_scheduler_is_only_switched_for_its_request(image_server: RunningServer) -> None:
    before = _draw(image_server).content
    assert _draw(image_server, {"scheduler": "EulerDiscreteScheduler"}).status_code == 200
    assert _draw(image_server).content == before


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).tobytes()


# Bad requests: a 422 that names what to fix


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"inputs": ""}, "empty prompt"),
        ({"inputs": "   "}, "empty prompt"),
        ({"inputs": ["a", "b"]}, "inputs as a string"),
        ({"inputs": {"prompt": "a"}}, "inputs as a string"),
        (
            {"inputs": "a", "parameters": {"height": 30}},
            "height of task text-to-image must be an integer multiple of 8",
        ),
        ({"inputs": "a", "parameters": {"width": 0}}, "width"),
        ({"inputs": "a", "parameters": {"height": -64}}, "height"),
        ({"inputs": "a", "parameters": {"height": 4096}}, "from 8 to 2048"),
        ({"inputs": "a", "parameters": {"width": "64"}}, "width"),
        ({"inputs": "a", "parameters": {"num_inference_steps": 0}}, "num_inference_steps"),
        ({"inputs": "a", "parameters": {"num_inference_steps": 201}}, "from 1 to 200"),
        ({"inputs": "a", "parameters": {"num_inference_steps": 2.5}}, "num_inference_steps"),
        ({"inputs": "a", "parameters": {"guidance_scale": -1}}, "guidance_scale"),
        ({"inputs": "a", "parameters": {"guidance_scale": "high"}}, "guidance_scale"),
        ({"inputs": "a", "parameters": {"guidance_scale": True}}, "guidance_scale"),
        ({"inputs": "a", "parameters": {"seed": -1}}, "seed"),
        ({"inputs": "a", "parameters": {"seed": "abc"}}, "seed"),
        (
            {"inputs": "a", "parameters": {"negative_prompt": 3}},
            "negative_prompt of task text-to-image must be a string",
        ),
        ({"inputs": "a", "parameters": {"scheduler": "NoSuchScheduler"}}, "EulerDiscreteScheduler"),
        (
            {"inputs": "a", "parameters": {"num_images_per_prompt": 2}},
            "takes no parameter 'num_images_per_prompt'",
        ),
        ({"inputs": "a", "parameters": [1, 2]}, '"parameters" as an object'),
        ({"prompt": "a"}, '{"inputs": ..., "parameters": {...}}'),
    ],
)
def test_bad_requests_are_422(image_server: RunningServer, body: dict[str, Any], expected: str) -> None:
    reply = requests.post(
        f"{image_server.url}/endpoints/{ENDPOINT}", headers=image_server.headers, json=body, timeout=60
    )
    assert reply.status_code == 422, reply.text
    error = reply.json()
    assert error["error_type"] == "validation"
    assert expected in error["error"]


def test_endpoint_env_sets_the_limits(image_server: RunningServer, sd_model: Path) -> None:
    name = "tiny-sd-small"
    env = {"INFERHOUSE_MAX_IMAGE_SIZE": "32", "INFERHOUSE_MAX_INFERENCE_STEPS": "3"}
    deploy_endpoint(image_server, name, sd_model, "text-to-image", env=env)
    url = f"{image_server.url}/endpoints/{name}"
    try:
        too_big = requests.post(
            url, headers=image_server.headers, json={"inputs": "a", "parameters": {"height": 40}}
        )
        assert too_big.status_code == 422
        assert "from 8 to 32" in too_big.json()["error"]
        too_long = requests.post(
            url, headers=image_server.headers, json={"inputs": "a", "parameters": {"num_inference_steps": 4}}
        )
        assert too_long.status_code == 422
        assert "from 1 to 3" in too_long.json()["error"]
        fits = requests.post(
            url, headers=image_server.headers, json={"inputs": "a", "parameters": {"height": 32, **FAST}}
        )
        assert fits.status_code == 200, fits.text
    finally:
        delete_endpoint(image_server, name)


def test_bad_limit_in_env_fails_the_endpoint(image_server: RunningServer, sd_model: Path) -> None:
    name = "tiny-sd-bad-limit"
    state, message = _create_and_settle(
        image_server, name, sd_model, env={"INFERHOUSE_MAX_IMAGE_SIZE": "huge"}
    )
    delete_endpoint(image_server, name)
    assert state == "failed"
    assert "INFERHOUSE_MAX_IMAGE_SIZE must be a positive integer" in message


def test_a_model_that_is_not_a_pipeline_fails_the_endpoint(
    image_server: RunningServer, tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text("{}")
    state, message = _create_and_settle(image_server, "not-a-pipeline", tmp_path)
    delete_endpoint(image_server, "not-a-pipeline")
    assert state == "failed"
    assert "needs a diffusers pipeline directory (with model_index.json)" in message


# Serverless: the same pipeline by model id


def test_serverless_text_to_image(image_server: RunningServer) -> None:
    client = InferenceClient(model=f"{image_server.url}/models/{SD_ID}", token=image_server.token)
    url = f"{image_server.url}/models/{SD_ID}"
    headers = {**image_server.headers, "x-wait-for-model": "true", "Accept": "image/jpeg"}
    reply = requests.post(url, headers=headers, json={"inputs": "a cat", "parameters": FAST}, timeout=120)
    assert reply.headers["content-type"] == "image/jpeg"
    assert _image(reply).size == (32, 32)
    image = client.text_to_image("a cat", height=24, width=40, num_inference_steps=2, seed=7)
    assert image.size == (40, 24)
    bad = requests.post(url, headers=image_server.headers, json={"inputs": ""}, timeout=60)
    assert bad.status_code == 422
    assert bad.json()["error_type"] == "validation"


# Without the extra


def test_missing_diffusers_names_the_extra(tmp_path_factory: pytest.TempPathFactory, sd_model: Path) -> None:
    """With diffusers not importable (a stand-in package that fails to import shadows it), the endpoint
    fails to load and its status says which extra to install."""
    shadow = tmp_path_factory.mktemp("no-diffusers")
    (shadow / "diffusers").mkdir()
    (shadow / "diffusers" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'diffusers'\", name='diffusers')\n"
    )
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "PYTHONPATH": str(shadow)}
    server = start_server(tmp_path_factory.mktemp("no-diffusers-data"), env=env)
    try:
        state, message = _create_and_settle(server, "tiny-sd", sd_model)
        assert state == "failed"
        assert "pip install 'inferhouse[image]'" in message
        assert "diffusers" in message
        reply = requests.post(
            f"{server.url}/endpoints/tiny-sd", headers=server.headers, json={"inputs": "a"}, timeout=30
        )
        assert reply.status_code == 503
        assert "pip install 'inferhouse[image]'" in reply.json()["error"]
    finally:
        server.stop()


def _create_and_settle(
    server: RunningServer, name: str, model: Path, env: dict[str, str] | None = None
) -> tuple[str, str]:
    """Create a text-to-image endpoint and wait until it stops loading; its state and status message."""
    api = f"{server.url}/v2/endpoint/local"
    body = {
        "name": name,
        "type": "protected",
        "model": {
            "repository": str(model),
            "task": "text-to-image",
            "framework": "pytorch",
            "env": env or {},
        },
        "compute": {"accelerator": "cpu", "scaling": {"minReplica": 1, "maxReplica": 1}},
    }
    created = requests.post(api, json=body, headers=server.headers, timeout=30)
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 120
    while True:
        status = requests.get(f"{api}/{name}", headers=server.headers, timeout=30).json()["status"]
        if status["state"] not in {"pending", "initializing", "updating"}:
            break
        assert time.monotonic() < deadline, f"endpoint {name} still {status['state']}"
        time.sleep(0.2)
    return status["state"], status.get("message") or ""
