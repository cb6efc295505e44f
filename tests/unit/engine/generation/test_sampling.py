from __future__ import annotations

import math

import torch

from inferhouse.engine.generation.params import Plan
from inferhouse.engine.generation.sampling import Chooser, choose_plain_greedy, choose_row


def make_plan(**fields: object) -> Plan:
    values: dict[str, object] = {
        "prompt_ids": (1,),
        "max_new_tokens": 5,
        "sampling": False,
        "temperature": 1.0,
        "top_k": None,
        "top_p": None,
        "repetition_penalty": 1.0,
        "stop": (),
        "seed": None,
    }
    values.update(fields)
    return Plan(**values)  # type: ignore[arg-type]


def test_greedy_takes_the_highest_logit_with_its_log_probability() -> None:
    scores = torch.tensor([0.0, 2.0, 1.0])
    token, logprob = choose_row(scores, Chooser.for_plan(make_plan()), [])
    assert token == 1
    assert math.isclose(logprob, float(torch.log_softmax(scores, -1)[1]), rel_tol=1e-6)
    tokens, logprobs = choose_plain_greedy(torch.stack([scores, scores.flip(0)]))
    assert tokens == [1, 1]
    assert math.isclose(logprobs[0], logprob, rel_tol=1e-6)


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    scores = torch.tensor([3.0, 2.5, -1.0, -1.2])
    chooser = Chooser.for_plan(make_plan(repetition_penalty=2.0))
    # token 0 was seen: 3.0 / 2 = 1.5 < 2.5, so token 1 wins
    token, logprob = choose_row(scores, chooser, [0, 0, 2])
    assert token == 1
    processed = torch.tensor([1.5, 2.5, -2.0, -1.2])
    assert math.isclose(logprob, float(torch.log_softmax(processed, -1)[1]), rel_tol=1e-6)


def test_top_k_one_is_greedy_even_when_sampling() -> None:
    scores = torch.randn(50)
    chooser = Chooser.for_plan(make_plan(sampling=True, top_k=1, seed=1))
    for _ in range(10):
        token, logprob = choose_row(scores, chooser, [])
        assert token == int(scores.argmax())
        assert logprob == 0.0  # the only token left has probability 1


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    scores = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    chooser = Chooser.for_plan(make_plan(sampling=True, top_p=0.7, seed=3))
    seen = {choose_row(scores, chooser, [])[0] for _ in range(200)}
    assert seen == {0, 1}


def test_the_same_seed_draws_the_same_tokens() -> None:
    scores = torch.zeros(100)

    def draw(seed: int) -> list[int]:
        chooser = Chooser.for_plan(make_plan(sampling=True, temperature=0.9, seed=seed))
        return [choose_row(scores, chooser, [])[0] for _ in range(20)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_a_tiny_temperature_samples_the_top_token_instead_of_failing() -> None:
    # Dividing raw logits by 1e-300 gives inf, and inf - inf is NaN inside softmax.
    plan = make_plan(sampling=True, temperature=1e-300, seed=3)
    token, logprob = choose_row(torch.tensor([0.5, 3.0, 1.0]), Chooser.for_plan(plan), [])
    assert token == 1
    assert logprob == 0.0
