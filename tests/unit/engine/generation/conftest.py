from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.text_models import build_tiny_causal_lm, build_tiny_seq2seq


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("gen") / "gpt2", architecture="gpt2")


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("gen") / "llama", architecture="llama", seed=1)


@pytest.fixture(scope="session")
def plain_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("gen") / "plain", chat_template=False, seed=2)


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_seq2seq(tmp_path_factory.mktemp("gen") / "t5")
