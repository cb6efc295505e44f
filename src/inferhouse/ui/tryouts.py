"""The playground's tryouts by task: what each form sends to the endpoint, what the page shows of the
reply, and the same call as ``curl``, ``requests``, ``huggingface_hub`` and ``openai`` code.

A tryout is pure data and functions of the form's fields, so the routes (:mod:`inferhouse.ui.playground`)
stay one generic path and the code a user is shown is built from the very body that was sent. Snippets
name the token as ``$INFERHOUSE_TOKEN`` and never contain it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from inferhouse.ui.api_calls import Refused

MAX_LINES = 16
MAX_NEW_TOKENS = 256


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str = "text"  # text, textarea, number or checkbox
    default: str = ""


@dataclass(frozen=True)
class Shown:
    """What the page shows of a reply: a table, a text, or an image (a data: URL)."""

    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    text: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Tryout:
    kind: str
    title: str
    button: str
    fields: list[Input]
    route: str  # under /endpoints/{name}
    body: Callable[[str, dict[str, str]], dict[str, Any]]  # (endpoint name, form) -> the JSON body
    shown: Callable[[Any, dict[str, Any]], Shown]  # (reply, body) -> what the page shows
    hub: Callable[[dict[str, Any]], str] | None = None  # huggingface_hub code, after `client = ...`
    openai: Callable[[str, dict[str, Any]], str] | None = None  # openai code, after `client = ...`
    stream: bool = False  # the page streams it (text generation, chat)


def _lines(fields: dict[str, str], name: str, label: str) -> list[str]:
    lines = [line.strip() for line in fields.get(name, "").splitlines() if line.strip()][:MAX_LINES]
    if not lines:
        raise Refused(422, f"{label}: type one or more, one per line.")
    return lines


def _text(fields: dict[str, str], name: str, label: str) -> str:
    text = fields.get(name, "").strip()
    if not text:
        raise Refused(422, f"{label} is empty.")
    return text


def _image_parameters(fields: dict[str, str]) -> dict[str, Any]:
    """``num_inference_steps`` and ``seed`` where the form gives them; the route checks their ranges."""
    parameters: dict[str, Any] = {}
    for field_name, parameter, label in (
        ("steps", "num_inference_steps", "Inference steps"),
        ("seed", "seed", "Seed"),
    ):
        text = fields.get(field_name, "").strip()
        if text:
            try:
                parameters[parameter] = int(text)
            except ValueError:
                raise Refused(422, f"{label} must be a whole number, got {text!r}") from None
    return {"parameters": parameters} if parameters else {}


def _tokens(fields: dict[str, str]) -> int:
    try:
        wanted = int(fields.get("max_new_tokens") or 32)
    except ValueError:
        raise Refused(422, "Max new tokens must be a whole number") from None
    if not 1 <= wanted <= MAX_NEW_TOKENS:
        raise Refused(422, f"Max new tokens must be between 1 and {MAX_NEW_TOKENS}")
    return wanted


def _score(value: Any) -> str:
    return f"{float(value):.4f}"


def _first(reply: Any) -> Any:
    """The one result of a reply that may come as a list of one (per input)."""
    while isinstance(reply, list) and reply and isinstance(reply[0], list):
        reply = reply[0]
    return reply


def _similarity(reply: Any, body: dict[str, Any]) -> Shown:
    sentences = body["inputs"]["sentences"]
    return Shown(
        ["Sentence", "Similarity"], [[text, _score(s)] for text, s in zip(sentences, reply, strict=True)]
    )


def _ranked(reply: Any, body: dict[str, Any]) -> Shown:
    texts = body["texts"]
    return Shown(
        ["Rank", "Text", "Score"],
        [[str(i + 1), texts[r["index"]], _score(r["score"])] for i, r in enumerate(reply)],
    )


def _labels(reply: Any, body: dict[str, Any]) -> Shown:
    return Shown(["Label", "Score"], [[str(item["label"]), _score(item["score"])] for item in _first(reply)])


def _masks(reply: Any, body: dict[str, Any]) -> Shown:
    rows = [
        [str(item.get("token_str", "")), str(item.get("sequence", "")), _score(item["score"])]
        for item in _first(reply)
    ]
    return Shown(["Token", "Sequence", "Score"], rows)


def _answer(reply: Any, body: dict[str, Any]) -> Shown:
    answers = _first(reply) if isinstance(reply, list) else [reply]
    return Shown(["Answer", "Score"], [[str(item["answer"]), _score(item["score"])] for item in answers])


def _generated(reply: Any, body: dict[str, Any]) -> Shown:
    first = reply[0] if isinstance(reply, list) else reply
    return Shown(text=str(first.get("generated_text", "")))


def _chatted(reply: Any, body: dict[str, Any]) -> Shown:
    return Shown(text=str(reply["choices"][0]["message"].get("content") or ""))


def _image(reply: Any, body: dict[str, Any]) -> Shown:
    return Shown(image=str(reply))  # the route turns the image bytes into a data: URL


def _py(value: Any) -> str:
    return repr(value)


TRYOUTS: dict[str, Tryout] = {
    tryout.kind: tryout
    for tryout in (
        Tryout(
            "similarity",
            "Sentence similarity",
            "Compare",
            [
                Input("source", "Source sentence"),
                Input("sentences", "Sentences to compare, one per line", "textarea"),
            ],
            "/similarity",
            lambda name, f: {
                "inputs": {
                    "source_sentence": _text(f, "source", "The source sentence"),
                    "sentences": _lines(f, "sentences", "Sentences"),
                }
            },
            _similarity,
            hub=lambda b: (
                f"scores = client.sentence_similarity(\n    {_py(b['inputs']['source_sentence'])},\n"
                f"    other_sentences={_py(b['inputs']['sentences'])},\n)"
            ),
        ),
        Tryout(
            "rank",
            "Rank texts",
            "Rank",
            [Input("query", "Query"), Input("texts", "Texts to rank, one per line", "textarea")],
            "/rerank",
            lambda name, f: {"query": _text(f, "query", "The query"), "texts": _lines(f, "texts", "Texts")},
            _ranked,
        ),
        Tryout(
            "classify",
            "Classify text",
            "Classify",
            [Input("text", "Text to classify", "textarea")],
            "",
            lambda name, f: {"inputs": _text(f, "text", "The text")},
            _labels,
            hub=lambda b: f"labels = client.text_classification({_py(b['inputs'])})",
        ),
        Tryout(
            "fill-mask",
            "Fill the mask",
            "Fill",
            [Input("text", "Text with a mask token", "textarea", "Paris is the [MASK] of France.")],
            "",
            lambda name, f: {"inputs": _text(f, "text", "The text")},
            _masks,
            hub=lambda b: f"candidates = client.fill_mask({_py(b['inputs'])})",
        ),
        Tryout(
            "question-answering",
            "Answer a question",
            "Answer",
            [Input("question", "Question"), Input("context", "Context", "textarea")],
            "",
            lambda name, f: {
                "inputs": {
                    "question": _text(f, "question", "The question"),
                    "context": _text(f, "context", "The context"),
                }
            },
            _answer,
            hub=lambda b: (
                f"answer = client.question_answering(\n    question={_py(b['inputs']['question'])},\n"
                f"    context={_py(b['inputs']['context'])},\n)"
            ),
        ),
        Tryout(
            "generate",
            "Generate text",
            "Generate",
            [
                Input("prompt", "Prompt", "textarea"),
                Input("max_new_tokens", "Max new tokens", "number", "32"),
                Input("full", "Include the prompt in the text", "checkbox"),
            ],
            "/generate",
            lambda name, f: {
                "inputs": _text(f, "prompt", "The prompt"),
                "parameters": {"max_new_tokens": _tokens(f), "return_full_text": f.get("full") == "on"},
            },
            _generated,
            hub=lambda b: (
                f"tokens = client.text_generation(\n    {_py(b['inputs'])},\n"
                f"    max_new_tokens={b['parameters']['max_new_tokens']},\n    stream=True,\n)\n"
                "for token in tokens:\n"
                '    print(token, end="", flush=True)'
            ),
            stream=True,
        ),
        Tryout(
            "chat",
            "Chat",
            "Send",
            [
                Input("message", "Message", "textarea"),
                Input("max_new_tokens", "Max new tokens", "number", "32"),
            ],
            "/v1/chat/completions",
            lambda name, f: {
                "model": name,
                "messages": [{"role": "user", "content": _text(f, "message", "The message")}],
                "max_tokens": _tokens(f),
            },
            _chatted,
            hub=lambda b: (
                f"chunks = client.chat_completion(\n    {_py(b['messages'])},\n"
                f"    max_tokens={b['max_tokens']},\n    stream=True,\n)\n"
                "for chunk in chunks:\n"
                '    print(chunk.choices[0].delta.content or "", end="", flush=True)'
            ),
            openai=lambda name, b: (
                f"stream = client.chat.completions.create(\n    model={_py(name)},\n"
                f"    messages={_py(b['messages'])},\n"
                f"    max_tokens={b['max_tokens']},\n    stream=True,\n)\n"
                'for chunk in stream:\n    print(chunk.choices[0].delta.content or "", end="", flush=True)'
            ),
            stream=True,
        ),
        Tryout(
            "text-to-image",
            "Text to image",
            "Draw",
            [
                Input("prompt", "Prompt", "textarea"),
                Input("steps", "Inference steps (empty: the pipeline's)", "number"),
                Input("seed", "Seed (empty: a random one)", "number"),
            ],
            "",
            lambda name, f: {"inputs": _text(f, "prompt", "The prompt")} | _image_parameters(f),
            _image,
            hub=lambda b: (
                f"client.text_to_image({_py(b['inputs'])}"
                + "".join(f", {key}={value}" for key, value in b.get("parameters", {}).items())
                + ').save("image.png")'
            ),
        ),
    )
}

# Which tryouts an endpoint's page offers, by its task (embedding tasks also get the embed form).
BY_TASK: dict[str, tuple[str, ...]] = {
    "sentence-embeddings": ("similarity",),
    "feature-extraction": ("similarity",),
    "sentence-similarity": ("similarity",),
    "sentence-ranking": ("rank",),
    "text-ranking": ("rank",),
    "text-classification": ("classify",),
    "fill-mask": ("fill-mask",),
    "question-answering": ("question-answering",),
    "text-generation": ("generate", "chat"),
    "text2text-generation": ("generate",),
    "text-to-image": ("text-to-image",),
}


def tryouts_for(task: str) -> list[Tryout]:
    return [TRYOUTS[kind] for kind in BY_TASK.get(task, ())]


def path_of(tryout: Tryout, name: str) -> str:
    return f"/endpoints/{quote(name, safe='')}{tryout.route}"


def code_for(tryout: Tryout, base_url: str, name: str, body: dict[str, Any]) -> dict[str, str]:
    """The call just made as code to paste, with the endpoint's real URL."""
    endpoint_url = f"{base_url}/endpoints/{quote(name, safe='')}"
    url = f"{base_url}{path_of(tryout, name)}"
    quoted = json.dumps(body, ensure_ascii=False).replace("'", "'\\''")
    out = " --output image.png" if tryout.kind == "text-to-image" else ""
    code = {
        "curl": (
            f"curl {url}{out} \\\n"
            '  -H "Authorization: Bearer $INFERHOUSE_TOKEN" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d '{quoted}'"
        ),
        "requests": (
            "import os\nimport requests\n\n"
            f"reply = requests.post(\n    {url!r},\n"
            '    headers={"Authorization": f"Bearer {os.environ[\'INFERHOUSE_TOKEN\']}"},\n'
            f"    json={_py(body)},\n)\n"
            + ('open("image.png", "wb").write(reply.content)' if out else "print(reply.json())")
        ),
    }
    if tryout.hub is not None:
        code["huggingface_hub"] = (
            "import os\nfrom huggingface_hub import InferenceClient\n\n"
            f'client = InferenceClient(model={endpoint_url!r}, token=os.environ["INFERHOUSE_TOKEN"])\n'
            + tryout.hub(body)
        )
    if tryout.openai is not None:
        code["openai"] = (
            "import os\nfrom openai import OpenAI\n\n"
            f'client = OpenAI(base_url={endpoint_url + "/v1"!r}, api_key=os.environ["INFERHOUSE_TOKEN"])\n'
            + tryout.openai(name, body)
        )
    return code
