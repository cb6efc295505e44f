from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from fastapi.exceptions import RequestValidationError

from inferhouse.api.core.dialect import from_validation_error, read_limited, render_failure
from inferhouse.api.core.error_shapes import (
    render_elasticsearch,
    render_hf,
    render_openai,
    render_pinecone_control,
    render_pinecone_data,
)
from inferhouse.errors import (
    AlreadyExists,
    Conflict,
    EmptyInput,
    InferhouseError,
    InvalidJson,
    ModelLoading,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    TooManyInputs,
    Unauthorized,
)


def test_union_errors_report_the_deepest_branch() -> None:
    error = RequestValidationError(
        [
            {
                "type": "string_type",
                "loc": ("body", "inputs", "str"),
                "msg": "Input should be a valid string",
            },
            {
                "type": "string_type",
                "loc": ("body", "inputs", "list[str]", 2),
                "msg": "Input should be a valid string",
            },
            {
                "type": "dict_type",
                "loc": ("body", "inputs", "SimilarityInputs"),
                "msg": "Input should be a dict",
            },
        ]
    )
    converted = from_validation_error(error)
    assert converted.status_code == 422
    assert converted.message == "Invalid request: inputs.2: Input should be a valid string"


def test_json_errors_are_bad_requests() -> None:
    error = RequestValidationError(
        [{"type": "json_invalid", "loc": ("body", 3), "msg": "x", "ctx": {"error": "Expecting value"}}]
    )
    converted = from_validation_error(error)
    assert isinstance(converted, InvalidJson)
    assert converted.message == "The body is not valid JSON: Expecting value"


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (EmptyInput("x"), 400, "empty"),
        (Unauthorized("x"), 401, "unauthorized"),
        (TooManyInputs("x"), 422, "validation"),
        (Overloaded("x"), 429, "overloaded"),
        (InferhouseError("x"), 500, "internal"),
    ],
)
def test_every_error_knows_its_status_and_kind(error: InferhouseError, status: int, kind: str) -> None:
    rendered = render_hf(error)
    assert rendered.status_code == status
    assert orjson.loads(bytes(rendered.body)) == {"error": "x", "error_type": kind}


def test_loading_carries_estimated_time_and_retry_after() -> None:
    rendered = render_hf(ModelLoading("org/model", 12.3))
    assert rendered.status_code == 503
    assert orjson.loads(bytes(rendered.body)) == {
        "error": "Model org/model is currently loading",
        "error_type": "loading",
        "estimated_time": 12.3,
    }
    assert rendered.headers["retry-after"] == "12"


def test_openai_shape() -> None:
    rendered = render_openai(Overloaded("Model is overloaded"))
    assert rendered.status_code == 429
    assert orjson.loads(bytes(rendered.body))["error"] == {
        "message": "Model is overloaded",
        "type": "rate_limit_error",
        "param": None,
        "code": "overloaded",
    }


def test_a_conflict_is_409_in_every_shape_and_not_a_name_taken() -> None:
    conflict, taken = Conflict("changed by another server"), AlreadyExists("exists")
    renders = (render_hf, render_openai, render_pinecone_control, render_pinecone_data, render_elasticsearch)
    assert {render(conflict).status_code for render in renders} == {409}
    bodies = {render.__name__: orjson.loads(bytes(render(conflict).body)) for render in renders}
    assert bodies["render_hf"] == {"error": "changed by another server", "error_type": "conflict"}
    assert bodies["render_openai"]["error"]["code"] == "conflict"
    assert bodies["render_pinecone_control"]["error"]["code"] == "ABORTED"
    assert orjson.loads(bytes(render_pinecone_control(taken).body))["error"]["code"] == "ALREADY_EXISTS"
    assert bodies["render_pinecone_data"]["code"] == 10
    assert bodies["render_elasticsearch"]["error"]["type"] == "version_conflict_engine_exception"
    assert bodies["render_elasticsearch"]["status"] == 409


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_the_body_limit_reads_the_declared_length_first_then_counts() -> None:
    assert await read_limited(_chunks(b"ab", b"cd"), "4", 4) == b"abcd"
    assert await read_limited(_chunks(b"ab", b"cd"), None, 4) == b"abcd"
    with pytest.raises(PayloadTooLarge, match="Request body of 5 bytes is over the limit of 4 bytes"):
        await read_limited(_chunks(), "5", 4)
    # A Content-Length that understates the body does not get it past the limit.
    with pytest.raises(PayloadTooLarge, match="Request body is over the limit of 4 bytes"):
        await read_limited(_chunks(b"abc", b"de"), "3", 4)


def test_failures_render_in_the_dialect_shape_and_hide_internals(caplog: pytest.LogCaptureFixture) -> None:
    assert render_failure(render_hf, NotFound("gone"), "POST", "/x").status_code == 404
    rendered = render_failure(render_hf, ValueError("secret detail"), "POST", "/x")
    assert rendered.status_code == 500
    assert orjson.loads(bytes(rendered.body)) == {"error": "Internal server error", "error_type": "internal"}
    assert "secret detail" in caplog.text  # the log keeps what the caller is not told
