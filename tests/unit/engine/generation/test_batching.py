"""Continuous batching: sequences join and leave the running batch without changing each other's output."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from inferhouse.engine.generation import GenerationParams, load_text_generator
from inferhouse.engine.generation.causal import CausalRows
from inferhouse.engine.generation.generator import TorchTextGenerator

PROMPTS = [
    "Hello world, how are",
    "Once upon a time there was a small village by the sea, where the fishermen",
    "Python",
    "The weather today is sunny with a chance of",
]


def load(path: Path, task: str = "text-generation", **env: str) -> TorchTextGenerator:
    generator = load_text_generator(path, task, name="tiny", env=env)
    assert isinstance(generator, TorchTextGenerator)
    return generator


def slow_down(generator: TorchTextGenerator, seconds: float = 0.004) -> None:
    original = generator.model.forward

    def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return original(*args, **kwargs)

    generator.model.forward = forward


@pytest.mark.parametrize("fixture", ["gpt2_dir", "llama_dir"])
def test_merged_rows_compute_what_each_row_computes_alone(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    prompts = [tokenizer(text)["input_ids"] for text in PROMPTS[:3]]
    feeds = [[5, 17, 42, 7, 99, 3], [11, 12, 13, 14, 15, 16], [200, 201, 202, 203, 204, 205]]

    def alone(row: int) -> list[torch.Tensor]:
        rows = CausalRows(model, torch.device("cpu"))
        out = [rows.prefill(prompts[row])]
        out += [rows.step([token])[0] for token in feeds[row]]
        return out

    expected = [alone(row) for row in range(3)]
    with torch.inference_mode():
        rows = CausalRows(model, torch.device("cpu"))
        got: list[list[torch.Tensor]] = [[rows.prefill(prompts[0])], [], []]
        order = [0]
        joined = {0: 0, 1: 3, 2: 4}  # the step at which each row is first fed
        for step in range(6):
            logits = rows.step([feeds[row][step - joined[row]] for row in order])
            for index, row in enumerate(order):
                got[row].append(logits[index])
            if step == 2:  # a longer prompt joins mid-way
                got[1].append(rows.prefill(prompts[1]))
                order.append(1)
                assert rows.width == len(prompts[1])
            if step == 3:  # a shorter one joins, then the long one leaves
                got[2].append(rows.prefill(prompts[2]))
                order.append(2)
            if step == 4:
                width = rows.width
                rows.keep([0, 2])
                order = [0, 2]
                assert rows.width < width  # the long row's padding columns are gone
        assert rows.width == len(prompts[0]) + 6
    for row, count in ((0, 7), (1, 3), (2, 3)):
        for step in range(count):
            torch.testing.assert_close(got[row][step], expected[row][step], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("fixture", ["gpt2_dir", "llama_dir"])
async def test_tokens_are_the_same_alone_and_while_others_join_and_leave(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    generator = load(request.getfixturevalue(fixture))
    greedy = GenerationParams(max_new_tokens=40)
    sampled = GenerationParams(max_new_tokens=25, do_sample=True, temperature=0.9, seed=123)
    try:
        alone = [await generator.generate(prompt, greedy) for prompt in PROMPTS]
        alone_sampled = await generator.generate(PROMPTS[1], sampled)
        slow_down(generator)
        long = await generator.stream(PROMPTS[0], greedy)
        others: list[asyncio.Task[object]] = []
        received = 0
        async for _ in long:
            received += 1
            if received == 3:
                others.append(asyncio.create_task(generator.generate(PROMPTS[1], greedy)))
                others.append(asyncio.create_task(generator.generate(PROMPTS[1], sampled)))
            if received == 8:
                others.append(asyncio.create_task(generator.generate(PROMPTS[2], greedy)))
            if received == 12:
                others.append(
                    asyncio.create_task(generator.generate(PROMPTS[3], GenerationParams(max_new_tokens=3)))
                )
        results = await asyncio.gather(*others)
    finally:
        generator.close()
    assert long.result is not None
    assert [token.id for token in long.result.tokens] == [token.id for token in alone[0].tokens]
    assert results[0].text == alone[1].text  # type: ignore[attr-defined]
    assert results[1].text == alone_sampled.text  # type: ignore[attr-defined]
    assert results[2].text == alone[2].text  # type: ignore[attr-defined]
    assert results[3].text == alone[3].text[: len(results[3].text)]  # type: ignore[attr-defined]


async def test_concurrent_requests_share_decode_steps(gpt2_dir: Path) -> None:
    generator = load(gpt2_dir)
    slow_down(generator)
    try:
        before = generator.loop.steps
        results = await asyncio.gather(
            *[generator.generate(prompt, GenerationParams(max_new_tokens=30)) for prompt in PROMPTS]
        )
        steps = generator.loop.steps - before
    finally:
        generator.close()
    assert all(result.generated_tokens == 30 for result in results)
    assert steps < 2 * 30  # one by one would take 4 x 29 steps


async def test_the_batch_never_exceeds_max_batch_size(gpt2_dir: Path) -> None:
    generator = load(gpt2_dir, MAX_BATCH_SIZE="2")
    slow_down(generator)
    seen: list[int] = []
    try:
        tasks = [
            asyncio.create_task(generator.generate(prompt, GenerationParams(max_new_tokens=10)))
            for prompt in PROMPTS
        ]
        while not all(task.done() for task in tasks):
            seen.append(generator.loop.running)
            await asyncio.sleep(0.002)
        results = await asyncio.gather(*tasks)
    finally:
        generator.close()
    assert max(seen) == 2
    assert [result.generated_tokens for result in results] == [10] * 4


async def test_seq2seq_short_requests_finish_while_a_long_one_runs(t5_dir: Path) -> None:
    generator = load(t5_dir, "text2text-generation")
    try:
        alone = await generator.generate(PROMPTS[2], GenerationParams(max_new_tokens=5))
        slow_down(generator)
        long = asyncio.create_task(generator.generate(PROMPTS[0], GenerationParams(max_new_tokens=100)))
        while generator.loop.running == 0:
            await asyncio.sleep(0.002)
        short = await generator.generate(PROMPTS[2], GenerationParams(max_new_tokens=5))
        assert not long.done()
        assert short.text == alone.text
        assert (await long).generated_tokens == 100
    finally:
        generator.close()
