"""A server with tiny text-generation endpoints, shared by the generation route and client tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.server import RunningServer, deploy_endpoint, start_server
from tests.support.text_models import build_tiny_causal_lm, build_tiny_seq2seq

LLM = "tiny-llm"  # gpt2 with a chat template
PLAIN_LLM = "plain-llm"  # llama without a chat template
T5 = "tiny-t5"  # text2text-generation
ONE_SLOT = "one-slot"  # the gpt2 model again, taking one request at a time
SERVERLESS_LLM = "tests/tiny-gpt2"  # a model id for POST /models/{id}


@dataclass
class GenerationModels:
    gpt2: Path
    llama: Path
    t5: Path
    long_gpt2: Path  # 8192 positions: a generation that outlasts its client by seconds


# Tokens a held stream asks for on ONE_SLOT: far more than the tests take to run while it holds the slot.
HELD_TOKENS = 8000


def build_generation_models(root: Path) -> GenerationModels:
    return GenerationModels(
        gpt2=build_tiny_causal_lm(root / "gpt2", max_positions=1024),
        long_gpt2=build_tiny_causal_lm(root / "long-gpt2", max_positions=8192),
        llama=build_tiny_causal_lm(root / "llama", architecture="llama", chat_template=False, seed=1),
        t5=build_tiny_seq2seq(root / "t5"),
    )


def start_generation_server(data_dir: Path, models: GenerationModels) -> RunningServer:
    endpoints = [
        {"name": LLM, "model": "tests/gpt2", "task": "text-generation"},
        {"name": PLAIN_LLM, "model": "tests/llama", "task": "text-generation"},
        {"name": T5, "model": "tests/t5", "task": None},  # the task comes from the model's config
    ]
    registered = {
        "tests/gpt2": str(models.gpt2),
        "tests/llama": str(models.llama),
        "tests/t5": str(models.t5),
        SERVERLESS_LLM: str(models.gpt2),
    }
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_MODELS": json.dumps(registered),
        "INFERHOUSE_ENDPOINTS": json.dumps(endpoints),
    }
    server = start_server(data_dir, env=env)
    try:
        deploy_endpoint(
            server,
            ONE_SLOT,
            models.long_gpt2,
            "text-generation",
            env={"MAX_CONCURRENT_REQUESTS": "1", "MAX_TOTAL_TOKENS": "8192"},
        )
    except BaseException:
        server.stop()
        raise
    return server


def sse_events(response: requests.Response) -> list[dict[str, Any]]:
    """The JSON of every ``data:`` event (``[DONE]`` is kept as the string)."""
    events: list[dict[str, Any]] = []
    for line in response.iter_lines(decode_unicode=True):
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        events.append({"done": True} if payload == "[DONE]" else json.loads(payload))
    return events
