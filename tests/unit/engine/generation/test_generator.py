"""The generator end to end on tiny random models, loaded through ``load_text_generator``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from inferhouse.engine.generation import (
    GenerationParams,
    GenerationStream,
    TextGenerator,
    load_text_generator,
)
from inferhouse.engine.generation.generator import TorchTextGenerator
from inferhouse.errors import BackendFailure, Overloaded, TaskMismatch, Unavailable, ValidationFailed
from tests.support.models import build_tiny_classifier

PROMPT = "Hello world, how are"


def load(path: Path, task: str = "text-generation", **env: str) -> TorchTextGenerator:
    generator = load_text_generator(path, task, name="tiny", env=env)
    assert isinstance(generator, TorchTextGenerator)
    return generator


@pytest.fixture
def gpt2(gpt2_dir: Path) -> Iterator[TorchTextGenerator]:
    generator = load(gpt2_dir)
    yield generator
    generator.close()


def reference_greedy(path: Path, prompt: str, new_tokens: int, seq2seq: bool = False) -> list[int]:
    """What transformers' own generate picks, to hold our loop to."""
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    model = auto.from_pretrained(path, local_files_only=True).eval()
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False)
    start = 1 if seq2seq else inputs["input_ids"].shape[1]
    return [int(token) for token in output[0, start:]]


@pytest.mark.parametrize("fixture", ["gpt2_dir", "llama_dir", "t5_dir"])
async def test_greedy_matches_transformers_generate(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    seq2seq = fixture == "t5_dir"
    generator = load(path, "text2text-generation" if seq2seq else "text-generation")
    try:
        assert isinstance(generator, TextGenerator)
        result = await generator.generate(PROMPT, GenerationParams(max_new_tokens=12))
    finally:
        generator.close()
    expected = reference_greedy(path, PROMPT, 12, seq2seq)
    assert [token.id for token in result.tokens][: len(expected)] == expected
    assert result.prompt_tokens == generator.count_tokens(PROMPT)
    assert result.seed is None
    assert result.generated_tokens == len(result.tokens)
    assert result.finish_reason in ("length", "eos_token")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    assert result.text == tokenizer.decode(expected, skip_special_tokens=True)


async def test_default_max_new_tokens_and_length_finish(gpt2: TorchTextGenerator) -> None:
    result = await gpt2.generate(PROMPT, GenerationParams())
    prompt_tokens = gpt2.count_tokens(PROMPT)
    # The default 100 new tokens, capped by the model's 128 positions.
    assert result.generated_tokens == min(100, gpt2.limits.max_total_tokens - prompt_tokens)
    assert result.finish_reason == "length"


async def test_stream_yields_the_tokens_of_the_result(gpt2: TorchTextGenerator) -> None:
    params = GenerationParams(max_new_tokens=40, do_sample=True, temperature=1.5, seed=11)
    stream = await gpt2.stream("Café 🙂", params)
    assert isinstance(stream, GenerationStream)
    tokens = []
    async for token in stream:
        tokens.append(token)
        assert (stream.result is not None) == (len(tokens) == 40)  # set as the last token arrives
    assert stream.result is not None
    assert tuple(tokens) == stream.result.tokens
    assert "".join(token.text for token in tokens) == stream.result.text
    assert stream.result.seed == 11
    assert all(token.logprob <= 0 for token in tokens)


async def test_same_seed_same_text_and_a_drawn_seed_is_reported(gpt2: TorchTextGenerator) -> None:
    params = GenerationParams(max_new_tokens=20, do_sample=True, seed=5)
    first = await gpt2.generate(PROMPT, params)
    second = await gpt2.generate(PROMPT, params)
    assert first.text == second.text
    assert first.seed == 5
    other = await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=20, do_sample=True, seed=6))
    assert other.text != first.text
    drawn = await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=20, temperature=0.8))
    assert drawn.seed is not None
    replay = await gpt2.generate(
        PROMPT, GenerationParams(max_new_tokens=20, temperature=0.8, seed=drawn.seed)
    )
    assert replay.text == drawn.text


async def test_a_stop_sequence_spanning_tokens_ends_generation_and_is_kept(gpt2: TorchTextGenerator) -> None:
    params = GenerationParams(max_new_tokens=30, do_sample=True, top_k=40, seed=21)
    reference = await gpt2.generate(PROMPT, params)
    pieces = [token.text for token in reference.tokens]
    # a stop made of the end of one piece and the whole next one, not seen earlier in the text
    cut, stop = next(
        (i, pieces[i - 1][-1] + pieces[i])
        for i in range(3, len(pieces))
        if pieces[i] and pieces[i - 1] and (pieces[i - 1][-1] + pieces[i]) not in "".join(pieces[: i - 1])
    )
    result = await gpt2.generate(PROMPT, GenerationParams(**{**params.__dict__, "stop": ("never", stop)}))
    assert result.finish_reason == "stop_sequence"
    assert result.generated_tokens == cut + 1
    assert result.text == "".join(pieces[: cut + 1])  # the stop text stays in the output, as in TGI
    assert result.text.endswith(stop)


async def test_eos_token_ends_generation(tmp_path: Path, gpt2_dir: Path) -> None:
    probe = load(gpt2_dir)
    try:
        first = (await probe.generate(PROMPT, GenerationParams(max_new_tokens=3))).tokens[0].id
    finally:
        probe.close()
    # Declare the model's first greedy token its end of sequence, as a generation_config may.
    model_dir = tmp_path / "eos"
    model_dir.mkdir()
    for item in gpt2_dir.iterdir():
        (model_dir / item.name).write_bytes(item.read_bytes())
    config = json.loads((model_dir / "generation_config.json").read_text())
    config["eos_token_id"] = [config["eos_token_id"], first]
    (model_dir / "generation_config.json").write_text(json.dumps(config))
    generator = load(model_dir)
    try:
        result = await generator.generate(PROMPT, GenerationParams(max_new_tokens=10))
        capped = await generator.generate(PROMPT, GenerationParams(max_new_tokens=1))
    finally:
        generator.close()
    assert result.finish_reason == "eos_token"
    assert result.generated_tokens == 1
    assert capped.finish_reason == "length"  # TGI checks the length first


async def test_truncate_and_limits(gpt2_dir: Path) -> None:
    generator = load(gpt2_dir, MAX_INPUT_TOKENS="8", MAX_TOTAL_TOKENS="16")
    try:
        long_prompt = "The quick brown fox jumps over the lazy dog again and again"
        tokens = generator.count_tokens(long_prompt)
        assert tokens > 8
        with pytest.raises(ValidationFailed, match=f"`inputs` must have less than 8 tokens. Given: {tokens}"):
            await generator.generate(long_prompt, GenerationParams(max_new_tokens=2))
        result = await generator.generate(long_prompt, GenerationParams(max_new_tokens=2, truncate=5))
        assert result.prompt_tokens == 5
        default = await generator.generate(long_prompt, GenerationParams(truncate=6))
        assert default.generated_tokens == 10  # 16 total - 6 input
        with pytest.raises(ValidationFailed, match="must be <= 16"):
            await generator.generate(long_prompt, GenerationParams(max_new_tokens=11, truncate=6))
    finally:
        generator.close()


async def test_repetition_penalty_changes_a_repetitive_greedy_output(gpt2: TorchTextGenerator) -> None:
    plain = await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=15))
    penalized = await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=15, repetition_penalty=5.0))
    plain_ids = [token.id for token in plain.tokens]
    penalized_ids = [token.id for token in penalized.tokens]
    assert len(set(plain_ids)) < len(plain_ids)  # the random model repeats itself
    assert len(set(penalized_ids)) > len(set(plain_ids))


async def test_chat_prompt_uses_the_template(gpt2: TorchTextGenerator, plain_gpt2_dir: Path) -> None:
    assert gpt2.has_chat_template
    prompt = gpt2.chat_prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert prompt == "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n"
    parts = gpt2.chat_prompt([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    assert parts.endswith("<|user|>\nHi</s>\n<|assistant|>\n")
    for bad in ([], [{"content": "x"}], ["text"], [{"role": "user", "content": 3}]):
        with pytest.raises(ValidationFailed):
            gpt2.chat_prompt(bad)  # type: ignore[arg-type]
    plain = load(plain_gpt2_dir)
    try:
        assert not plain.has_chat_template
        with pytest.raises(ValidationFailed, match="This model has no chat template; "):
            plain.chat_prompt([{"role": "user", "content": "Hi"}])
    finally:
        plain.close()


async def test_validation_happens_before_queueing(gpt2: TorchTextGenerator) -> None:
    with pytest.raises(ValidationFailed, match="`inputs` cannot be empty"):
        await gpt2.stream("", GenerationParams())
    with pytest.raises(ValidationFailed, match="`top_k` must be strictly positive"):
        await gpt2.stream(PROMPT, GenerationParams(top_k=-1))
    assert gpt2.loop.in_flight == 0


async def test_overloaded_beyond_max_concurrent_requests(gpt2_dir: Path) -> None:
    generator = load(gpt2_dir, MAX_CONCURRENT_REQUESTS="2", MAX_BATCH_SIZE="1")
    try:
        streams = [await generator.stream(PROMPT, GenerationParams(max_new_tokens=100)) for _ in range(2)]
        with pytest.raises(Overloaded, match="MAX_CONCURRENT_REQUESTS=2"):
            await generator.stream(PROMPT, GenerationParams(max_new_tokens=5))
        for stream in streams:
            stream.cancel()
            assert len([token async for token in stream]) < 100
        await wait_for(lambda: generator.loop.in_flight == 0)
        result = await generator.generate(PROMPT, GenerationParams(max_new_tokens=5))
        assert result.generated_tokens == 5
    finally:
        generator.close()


async def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_cancelled_streams_and_tasks_free_their_slot(gpt2: TorchTextGenerator) -> None:
    stream = await gpt2.stream(PROMPT, GenerationParams(max_new_tokens=100))
    received = 0
    async for _ in stream:
        received += 1
        if received == 2:
            stream.cancel()
    assert stream.result is None
    assert received < 100

    task = asyncio.create_task(gpt2.generate(PROMPT, GenerationParams(max_new_tokens=100)))
    await wait_for(lambda: gpt2.loop.running == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: gpt2.loop.in_flight == 0 and gpt2.loop.running == 0)

    # a consumer that stops iterating early cancels too
    stream = await gpt2.stream(PROMPT, GenerationParams(max_new_tokens=100))
    async for _ in stream:
        break
    await stream._iterate().aclose()  # no-op: the generator that was left already cancelled the job
    await wait_for(lambda: gpt2.loop.in_flight == 0)
    after = await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=4))
    assert after.generated_tokens == 4


def slow_down(generator: TorchTextGenerator, seconds: float = 0.005) -> None:
    """Make each forward pass take a while, so a generation is surely still running when a test acts."""
    original = generator.model.forward

    def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return original(*args, **kwargs)

    generator.model.forward = forward


async def test_close_fails_what_is_in_flight_and_refuses_more(gpt2_dir: Path) -> None:
    generator = load_text_generator(gpt2_dir, "text-generation", name="tiny", env={}, close_grace_s=0.0)
    assert isinstance(generator, TorchTextGenerator)
    generator.loop._max_batch_size = 1  # one runs, one waits
    slow_down(generator)
    running = asyncio.create_task(generator.generate(PROMPT, GenerationParams(max_new_tokens=110)))
    waiting = asyncio.create_task(generator.generate(PROMPT, GenerationParams(max_new_tokens=110)))
    await wait_for(lambda: generator.loop.running == 1)
    await asyncio.to_thread(generator.close)
    for task in (running, waiting):
        with pytest.raises(Unavailable):
            await asyncio.wait_for(task, 5)
    assert not generator.loop._thread.is_alive()
    with pytest.raises(Unavailable):
        await generator.generate(PROMPT, GenerationParams(max_new_tokens=2))


async def test_close_lets_short_requests_finish(gpt2_dir: Path) -> None:
    generator = load(gpt2_dir)
    task = asyncio.create_task(generator.generate(PROMPT, GenerationParams(max_new_tokens=20)))
    await wait_for(lambda: generator.loop.running == 1)
    await asyncio.to_thread(generator.close)
    assert (await task).generated_tokens == 20


async def test_a_model_failure_fails_only_the_requests_it_touched(gpt2: TorchTextGenerator) -> None:
    model = gpt2.model
    original = model.forward
    poison_length = gpt2.count_tokens("poison pill prompt here")

    def forward(*args, **kwargs):  # type: ignore[no-untyped-def]
        ids = kwargs["input_ids"]
        if ids.shape[1] == poison_length and ids.shape[0] == 1:
            raise RuntimeError("boom")
        return original(*args, **kwargs)

    model.forward = forward
    try:
        healthy = asyncio.create_task(gpt2.generate(PROMPT, GenerationParams(max_new_tokens=60)))
        await wait_for(lambda: gpt2.loop.running == 1)
        with pytest.raises(BackendFailure, match="Generation failed: RuntimeError: boom"):
            await gpt2.generate("poison pill prompt here", GenerationParams(max_new_tokens=5))
        assert (await healthy).generated_tokens == 60

        calls = 0

        def failing_step(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if kwargs["input_ids"].shape[1] == 1 and calls == 3:
                raise RuntimeError("step broke")
            return original(*args, **kwargs)

        model.forward = failing_step
        with pytest.raises(BackendFailure, match="step broke"):
            await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=10))
    finally:
        model.forward = original
    assert (await gpt2.generate(PROMPT, GenerationParams(max_new_tokens=3))).generated_tokens == 3
    assert gpt2.loop.in_flight == 0


def test_loading_checks_task_and_env(tmp_path: Path, gpt2_dir: Path) -> None:
    with pytest.raises(ValidationFailed, match="MAX_TOTAL_TOKENS \\(4096\\) is more than the model's 128"):
        load(gpt2_dir, MAX_TOTAL_TOKENS="4096")
    with pytest.raises(ValidationFailed, match="not a text generation task"):
        load(gpt2_dir, "fill-mask")
    classifier = build_tiny_classifier(tmp_path / "classifier")
    with pytest.raises(TaskMismatch, match="not a causal language model"):
        load(classifier)
