"""The playground's arithmetic and the code it shows."""

from __future__ import annotations

import ast
import json

import httpx
import pytest

from inferhouse.ui.api_calls import error_message
from inferhouse.ui.playground import cosine_matrix, snippets


def test_cosine_similarity_of_every_pair() -> None:
    matrix = cosine_matrix([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    assert matrix[0][0] == pytest.approx(1.0)
    assert matrix[0][1] == pytest.approx(0.0)
    assert matrix[0][2] == pytest.approx(2**-0.5)
    assert matrix[2][1] == matrix[1][2]


def test_a_zero_vector_compares_as_zero_not_a_division_error() -> None:
    assert cosine_matrix([[0.0, 0.0], [1.0, 0.0]])[0][1] == 0.0


def test_the_snippets_name_the_real_url_and_parse_as_python() -> None:
    texts = ['it\'s a "quoted" text', "ünïcode"]
    code = snippets("http://10.0.0.5:8080", "docs", texts)
    assert "http://10.0.0.5:8080/endpoints/docs/embed" in code["curl"]
    assert "$INFERHOUSE_TOKEN" in code["curl"]
    for language in ("requests", "huggingface_hub", "openai"):
        ast.parse(code[language])  # valid Python, whatever the texts hold
        assert "INFERHOUSE_TOKEN" in code[language]
    assert 'base_url="http://10.0.0.5:8080/v1"' in code["openai"]
    # The curl body is the JSON of the texts inside single quotes, each ' written as '\''.
    body = code["curl"].split("-d '", 1)[1].rsplit("'", 1)[0].replace("'\\''", "'")
    assert json.loads(body) == {"inputs": texts}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "Endpoint x not found"}, "Endpoint x not found"),
        ({"error": {"code": "NOT_FOUND", "message": "Index y not found"}}, "Index y not found"),
        ({"error": {"type": "x", "reason": "bad config"}}, "bad config"),
        ({"detail": "no"}, "no"),
        ([1, 2], "HTTP 418"),
    ],
)
def test_error_messages_of_every_dialect(body: object, message: str) -> None:
    assert error_message(httpx.Response(418, json=body)) == message


def test_a_text_error_is_its_text() -> None:
    assert error_message(httpx.Response(500, text="boom")) == "boom"
