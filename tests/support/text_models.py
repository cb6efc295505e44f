"""Tiny random text-generation models (a causal LM, an encoder-decoder) with a tokenizer trained here.

Models cannot be downloaded in tests, so the tokenizer is a small byte-level BPE trained on the text
below; byte-level pieces mean some characters (accents, emoji) span several tokens, which is what the
incremental detokenizer must cope with. Everything is saved with ``save_pretrained`` so it loads
through the same code a user's model takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BOS, EOS, PAD = "<s>", "</s>", "<pad>"

# A simple template in the usual role-tag style; it ends with the assistant tag when asked for the
# generation prompt.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_CORPUS = """
The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with a single step.
Once upon a time there was a small village by the sea, where the fishermen told stories every night.
Machine learning models turn text into numbers, and numbers back into text, one token at a time.
The weather today is sunny with a chance of rain in the afternoon; bring an umbrella just in case.
She sells sea shells by the sea shore, and the shells she sells are surely sea shells.
Python is a programming language that lets you work quickly and integrate systems more effectively.
Tokens, words, sentences and paragraphs: language has structure at every level you look at it.
Hello world! How are you doing today? I am fine, thank you. What is your name? My name is Ada.
Café, naïve, résumé, déjà vu, and a few emoji like 🙂 and 🚀 make bytes span several tokens.
Numbers such as 1, 2, 3, 42, 100 and 2024 appear in text too, along with punctuation: ;:!?()[]{}.
The system answers the user, and the assistant helps with questions about cooking, travel and code.
"""


def _train_tokenizer(
    vocab_size: int, lines: list[str] | None = None, *, end_tokens: bool = True, max_length: int = 128
) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    ends = [BOS, EOS] if end_tokens else []
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, *ends, "<|system|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    if lines is None:
        lines = [line for line in _CORPUS.splitlines() if line.strip()] * 4
    tokenizer.train_from_iterator(lines, trainer=trainer)
    named = {"bos_token": BOS, "eos_token": EOS} if end_tokens else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token=PAD, model_max_length=max_length, **named
    )


def build_tiny_tokenizer(
    target: Path,
    *,
    chat_template: bool = True,
    vocab_size: int = 400,
    lines: list[str] | None = None,
    end_tokens: bool = True,
    max_length: int = 128,
) -> Path:
    """Save just the tokenizer (used by both model builders). Without ``end_tokens`` it has no BOS or
    EOS, so nothing can end a generation before its length limit."""
    tokenizer = _train_tokenizer(vocab_size, lines, end_tokens=end_tokens, max_length=max_length)
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE  # type: ignore[attr-defined]
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(target)  # type: ignore[attr-defined]
    return target


@dataclass(frozen=True)
class CausalShape:
    """The size of a random causal LM (the tests' default is tiny)."""

    layers: int = 2
    hidden: int = 32
    heads: int = 2
    vocab_size: int = 400


def build_tiny_causal_lm(
    target: Path,
    *,
    architecture: str = "gpt2",
    chat_template: bool = True,
    seed: int = 0,
    max_positions: int = 128,
    shape: CausalShape = CausalShape(),
    lines: list[str] | None = None,
    end_tokens: bool = True,
) -> Path:
    """A random causal LM (``gpt2`` or ``llama``, 2 layers by default) with a byte-level BPE tokenizer
    trained on ``lines`` (a built-in text by default)."""
    import torch
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    build_tiny_tokenizer(
        target,
        chat_template=chat_template,
        vocab_size=shape.vocab_size,
        lines=lines,
        end_tokens=end_tokens,
        max_length=128 if end_tokens else max_positions,
    )
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(target, local_files_only=True)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    torch.manual_seed(seed)
    if architecture == "gpt2":
        config = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=max_positions,
            n_embd=shape.hidden,
            n_layer=shape.layers,
            n_head=shape.heads,
            pad_token_id=tokenizer.pad_token_id,
            **ids,
        )
        model: torch.nn.Module = GPT2LMHeadModel(config)
    elif architecture == "llama":
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=shape.hidden,
            intermediate_size=2 * shape.hidden,
            num_hidden_layers=shape.layers,
            num_attention_heads=2 * shape.heads,
            num_key_value_heads=shape.heads,
            max_position_embeddings=max_positions,
            pad_token_id=tokenizer.pad_token_id,
            **ids,
        )
        model = LlamaForCausalLM(config)
    else:
        raise ValueError(f"unknown architecture {architecture!r}; use 'gpt2' or 'llama'")
    model.generation_config = GenerationConfig(pad_token_id=tokenizer.pad_token_id, **ids)  # type: ignore[assignment]
    model.save_pretrained(target)  # type: ignore[operator]
    return target


def build_tiny_seq2seq(target: Path, seed: int = 0) -> Path:
    """A 2-layer random T5 encoder-decoder with a trained byte-level BPE tokenizer."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, T5Config, T5ForConditionalGeneration

    build_tiny_tokenizer(target, chat_template=False)
    tokenizer = AutoTokenizer.from_pretrained(target, local_files_only=True)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model = T5ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(target)
    return target
