"""Choosing each row's next token from its logits: penalties, warpers, then greedy or seeded sampling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from inferhouse.engine.generation.params import Plan

_NEG_INF = float("-inf")


@dataclass
class Chooser:
    """One request's token choice; holds its own random generator so other rows never disturb it."""

    plan: Plan
    generator: torch.Generator | None = None

    @classmethod
    def for_plan(cls, plan: Plan) -> Chooser:
        generator = None
        if plan.sampling:
            generator = torch.Generator(device="cpu")
            generator.manual_seed(plan.seed if plan.seed is not None else 0)
        return cls(plan, generator)

    @property
    def plain_greedy(self) -> bool:
        return not self.plan.sampling and self.plan.repetition_penalty == 1.0


_MIN_TEMPERATURE = 1e-6


def _penalize(scores: torch.Tensor, seen: Sequence[int], penalty: float) -> torch.Tensor:
    # As transformers' RepetitionPenaltyLogitsProcessor: seen tokens' positive logits are divided by
    # the penalty and negative ones multiplied, so a penalty above 1 always makes them less likely.
    # Repeated ids gather the same logit and scatter the same penalized value back, so no dedup is
    # needed (that would sort every id of the sequence again at every step).
    index = torch.tensor(seen, dtype=torch.long, device=scores.device)
    picked = scores.gather(0, index)
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return scores.scatter(0, index, picked)


def _warp(scores: torch.Tensor, plan: Plan) -> torch.Tensor:
    if plan.temperature != 1.0:
        # Shifted to a maximum of 0 first, and the temperature kept above what float32 holds, so a tiny
        # temperature sends every other token to -inf (as good as greedy) instead of giving NaNs.
        scores = (scores - scores.max()) / max(plan.temperature, _MIN_TEMPERATURE)
    if plan.top_k is not None and plan.top_k < scores.numel():
        kth = torch.topk(scores, plan.top_k).values[-1]
        scores = scores.masked_fill(scores < kth, _NEG_INF)
    if plan.top_p is not None:
        ordered, order = torch.sort(scores, descending=False)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= 1 - plan.top_p
        drop[-1] = False  # the most likely token always stays
        scores = scores.masked_fill(drop.scatter(0, order, drop), _NEG_INF)
    return scores


def choose_row(scores: torch.Tensor, chooser: Chooser, seen: Sequence[int]) -> tuple[int, float]:
    """The next token for one row and its log-probability under the processed distribution."""
    scores = scores.float()
    plan = chooser.plan
    if plan.repetition_penalty != 1.0 and seen:
        scores = _penalize(scores, seen, plan.repetition_penalty)
    if plan.sampling:
        scores = _warp(scores, plan)
        logprobs = torch.log_softmax(scores, dim=-1)
        token = int(torch.multinomial(logprobs.exp(), 1, generator=chooser.generator).item())
    else:
        logprobs = torch.log_softmax(scores, dim=-1)
        token = int(torch.argmax(scores).item())
    return token, float(logprobs[token].item())


def choose_plain_greedy(scores: torch.Tensor) -> tuple[list[int], list[float]]:
    """Greedy choices for several rows at once (no penalty, no warpers): one argmax over the batch."""
    scores = scores.float()
    logprobs = torch.log_softmax(scores, dim=-1)
    tokens = torch.argmax(scores, dim=-1)
    chosen = logprobs.gather(1, tokens[:, None])[:, 0]
    return [int(t) for t in tokens.tolist()], [float(p) for p in chosen.tolist()]
