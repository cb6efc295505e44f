"""Tasks built on embeddings."""

from __future__ import annotations

from dataclasses import replace

from inferhouse.engine.embedder import Embedder, EmbedOptions


async def sentence_similarity(
    embedder: Embedder, source: str, sentences: list[str], options: EmbedOptions
) -> list[float]:
    """Cosine similarity of ``source`` to each sentence, in the order given."""
    unit = replace(options, normalize=True)
    result = await embedder.embed([source, *sentences], unit)
    scores = result.vectors[1:] @ result.vectors[0]
    return [float(score) for score in scores]
