"""A tiny random Stable Diffusion pipeline on disk, loaded through the same code a user's pipeline takes.

Every part is a real diffusers or transformers class (UNet, VAE, CLIP text encoder and tokenizer, DDIM
scheduler), only small and untrained: a 32x32 image in two steps takes a few milliseconds on a CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

# The tokenizer works on single characters: each printable byte is a token, alone or closing a word.
_SPECIAL = ("<|startoftext|>", "<|endoftext|>")


def _byte_characters() -> list[str]:
    """The 256 characters CLIP's byte-level BPE writes the bytes of a text with (the GPT-2 table)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    characters = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            characters.append(256 + extra)
            extra += 1
    return [chr(code) for code in characters]


def write_tiny_clip_tokenizer(target: Path) -> int:
    """Write ``vocab.json`` and ``merges.txt`` of a character-level CLIP tokenizer; returns its size."""
    target.mkdir(parents=True, exist_ok=True)
    characters = _byte_characters()
    tokens = [*characters, *(f"{character}</w>" for character in characters), *_SPECIAL]
    (target / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    # A header line and no merges: every word stays split into its characters.
    (target / "merges.txt").write_text("#version: 0.2\n")
    return len(tokens)


def build_tiny_text_to_image(target: Path, seed: int = 0) -> Path:
    """Save a tiny random ``StableDiffusionPipeline`` (no safety checker) to ``target``.

    Its default image is 32x32 (a UNet sample size of 16 and a VAE that halves each side).
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    scratch = target.parent / f"{target.name}-tokenizer"
    vocab_size = write_tiny_clip_tokenizer(scratch)
    tokenizer = CLIPTokenizer(
        str(scratch / "vocab.json"),
        str(scratch / "merges.txt"),
        bos_token=_SPECIAL[0],
        eos_token=_SPECIAL[1],
        pad_token=_SPECIAL[1],
        model_max_length=77,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            projection_dim=32,
            bos_token_id=vocab_size - 2,
            eos_token_id=vocab_size - 1,
            pad_token_id=vocab_size - 1,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=32,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(target))
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()
    return target
