"""The non-embedding task models: a real request body in, the toolkit's reply shape out, read back by
huggingface_hub's own client code; bad shapes, wrong heads and custom handlers."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.inference._generated.types import (
    FillMaskOutputElement,
    QuestionAnsweringOutputElement,
    TextClassificationOutputElement,
    TokenClassificationOutputElement,
    ZeroShotClassificationOutputElement,
)

from inferhouse.engine.pipelines import PIPELINE_TASKS, Ranker, TaskModel, load_task_model
from inferhouse.errors import BackendFailure, EmptyInput, InputTooLong, TaskMismatch, ValidationFailed
from tests.support.models import (
    NER_LABELS,
    build_tiny_bare_bert,
    build_tiny_classifier,
    build_tiny_cross_encoder,
    build_tiny_masked_lm,
    build_tiny_nli,
    build_tiny_qa,
    build_tiny_token_classifier,
    write_custom_handler,
)

SENTIMENT = {0: "negative", 1: "neutral", 2: "positive"}
CONTEXT = "My name is Clara and I live in Berkeley. Clara works at a small bakery near the campus."
LONG_TEXT = "word " * 600


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pipeline-models")
    return {
        "classifier": build_tiny_classifier(root / "classifier", id2label=SENTIMENT),
        "cross-encoder": build_tiny_cross_encoder(root / "cross-encoder"),
        "nli": build_tiny_nli(root / "nli"),
        "ner": build_tiny_token_classifier(root / "ner"),
        "mlm": build_tiny_masked_lm(root / "mlm"),
        "qa": build_tiny_qa(root / "qa"),
        "bare": build_tiny_bare_bert(root / "bare"),
    }


@pytest.fixture(scope="module")
def models(dirs: dict[str, Path]) -> dict[str, TaskModel]:
    return {
        "text-classification": load_task_model(dirs["classifier"], "text-classification"),
        "sentence-ranking": load_task_model(dirs["cross-encoder"], "sentence-ranking"),
        "zero-shot-classification": load_task_model(dirs["nli"], "zero-shot-classification"),
        "token-classification": load_task_model(dirs["ner"], "token-classification"),
        "fill-mask": load_task_model(dirs["mlm"], "fill-mask"),
        "question-answering": load_task_model(dirs["qa"], "question-answering"),
    }


def ask(model: TaskModel, body: dict[str, Any]) -> Any:
    """Call the model as the server does: a body decoded from JSON, a reply that must encode to JSON."""
    reply = model(json.loads(json.dumps(body)))
    return json.loads(json.dumps(reply, allow_nan=False))


def is_probability(value: Any) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


# --- text-classification ---------------------------------------------------------------------------


def test_text_classification_answers_a_string_with_a_list_of_label_lists(
    models: dict[str, TaskModel],
) -> None:
    reply = ask(models["text-classification"], {"inputs": "I like you"})
    assert len(reply) == 1
    assert len(reply[0]) == 1
    assert reply[0][0]["label"] in SENTIMENT.values()
    assert is_probability(reply[0][0]["score"])


def test_text_classification_all_labels_with_null_top_k_sorted(models: dict[str, TaskModel]) -> None:
    reply = ask(models["text-classification"], {"inputs": ["a", "b"], "parameters": {"top_k": None}})
    assert len(reply) == 2
    for labels in reply:
        assert {entry["label"] for entry in labels} == set(SENTIMENT.values())
        scores = [entry["score"] for entry in labels]
        assert scores == sorted(scores, reverse=True)
        assert math.isclose(sum(scores), 1.0, rel_tol=1e-5)


def test_text_classification_long_input_needs_truncation(models: dict[str, TaskModel]) -> None:
    with pytest.raises(InputTooLong, match="truncation"):
        models["text-classification"]({"inputs": LONG_TEXT})
    reply = ask(models["text-classification"], {"inputs": LONG_TEXT, "parameters": {"truncation": True}})
    assert reply[0][0]["label"] in SENTIMENT.values()


# --- token-classification --------------------------------------------------------------------------


def test_token_classification_offsets_point_into_the_input(models: dict[str, TaskModel]) -> None:
    text = "my name is sarah jessica parker and i live in berkeley"
    reply = ask(models["token-classification"], {"inputs": text, "parameters": {"ignore_labels": []}})
    assert reply, "with no label ignored every token is an entity"
    for entity in reply:
        assert entity["entity"] in NER_LABELS.values()
        assert is_probability(entity["score"])
        assert text[entity["start"] : entity["end"]] == entity["word"].removeprefix("##")


def test_token_classification_groups_and_answers_a_list_per_input(models: dict[str, TaskModel]) -> None:
    texts = ["sarah lives in berkeley", "clara bakes"]
    body = {"inputs": texts, "parameters": {"aggregation_strategy": "first", "ignore_labels": []}}
    reply = ask(models["token-classification"], body)
    assert len(reply) == 2
    for text, entities in zip(texts, reply, strict=True):
        for entity in entities:
            assert entity["entity_group"] in {"O", "PER", "LOC"}
            assert text[entity["start"] : entity["end"]] == entity["word"]


# --- zero-shot-classification ----------------------------------------------------------------------


def test_zero_shot_scores_every_candidate_best_first(models: dict[str, TaskModel]) -> None:
    labels = ["space & cosmos", "baking", "robots"]
    body = {"inputs": "Clara bakes bread", "parameters": {"candidate_labels": labels, "multi_label": False}}
    reply = ask(models["zero-shot-classification"], body)
    assert sorted(entry["label"] for entry in reply) == sorted(labels)
    scores = [entry["score"] for entry in reply]
    assert scores == sorted(scores, reverse=True)
    assert math.isclose(sum(scores), 1.0, rel_tol=1e-5)


def test_zero_shot_multi_label_and_comma_separated_labels(models: dict[str, TaskModel]) -> None:
    body = {"inputs": ["one", "two"], "parameters": {"candidate_labels": "a, b", "multi_label": True}}
    reply = ask(models["zero-shot-classification"], body)
    assert len(reply) == 2
    for ranked in reply:
        assert sorted(entry["label"] for entry in ranked) == ["a", "b"]
        assert all(is_probability(entry["score"]) for entry in ranked)


# --- fill-mask -------------------------------------------------------------------------------------


def test_fill_mask_candidates_fill_the_mask(models: dict[str, TaskModel]) -> None:
    text = "the cat [MASK] on the mat"
    reply = ask(models["fill-mask"], {"inputs": text})
    assert len(reply) == 5
    for candidate in reply:
        assert is_probability(candidate["score"])
        assert isinstance(candidate["token"], int)
        assert candidate["token_str"].removeprefix("##") in candidate["sequence"]


def test_fill_mask_targets_and_top_k(models: dict[str, TaskModel]) -> None:
    text = "the cat [MASK] on the mat"
    body = {"inputs": text, "parameters": {"targets": ["sat", "ran", "slept"], "top_k": 2}}
    reply = ask(models["fill-mask"], body)
    assert len(reply) == 2
    for candidate in reply:
        assert candidate["token_str"] in {"sat", "ran", "slept"}
        assert candidate["sequence"] == text.replace("[MASK]", candidate["token_str"])


def test_fill_mask_several_masks_and_a_list(models: dict[str, TaskModel]) -> None:
    reply = ask(models["fill-mask"], {"inputs": ["a [MASK] b [MASK]"], "parameters": {"top_k": 3}})
    assert len(reply) == 1  # one reply for the one input
    assert [len(candidates) for candidates in reply[0]] == [3, 3]  # one list per mask


def test_fill_mask_without_a_mask_is_the_callers_fault(models: dict[str, TaskModel]) -> None:
    with pytest.raises(ValidationFailed, match=r"No \[MASK\] token in the input"):
        models["fill-mask"]({"inputs": "no mask here"})


# --- question-answering ----------------------------------------------------------------------------


def test_question_answering_answer_is_the_span_of_the_context(models: dict[str, TaskModel]) -> None:
    body = {"inputs": {"question": "What is my name?", "context": CONTEXT}}
    reply = ask(models["question-answering"], body)
    assert set(reply) == {"score", "start", "end", "answer"}
    assert is_probability(reply["score"])
    assert 0 <= reply["start"] < reply["end"] <= len(CONTEXT)
    assert CONTEXT[reply["start"] : reply["end"]] == reply["answer"]


def test_question_answering_top_k_over_windows(models: dict[str, TaskModel]) -> None:
    context = " ".join([CONTEXT] * 4)
    body = {
        "inputs": {"question": "Where does Clara live?", "context": context},
        "parameters": {"top_k": 4, "max_seq_len": 32, "doc_stride": 8, "max_answer_len": 5},
    }
    reply = ask(models["question-answering"], body)
    assert len(reply) == 4
    assert [answer["score"] for answer in reply] == sorted((a["score"] for a in reply), reverse=True)
    for answer in reply:
        assert context[answer["start"] : answer["end"]] == answer["answer"]
        # Aligned to words: no answer starts or stops inside one.
        assert answer["start"] == 0 or not context[answer["start"] - 1].isalnum()
        assert answer["end"] == len(context) or not context[answer["end"]].isalnum()


def test_question_answering_takes_the_toolkits_top_level_form(models: dict[str, TaskModel]) -> None:
    body = {"question": "Who?", "context": CONTEXT, "parameters": {"handle_impossible_answer": True}}
    reply = ask(models["question-answering"], body)
    assert reply["answer"] == CONTEXT[reply["start"] : reply["end"]]


def test_question_answering_empty_question(models: dict[str, TaskModel]) -> None:
    with pytest.raises(EmptyInput):
        models["question-answering"]({"inputs": {"question": " ", "context": CONTEXT}})


# --- sentence-ranking ------------------------------------------------------------------------------


def test_ranking_scores_pairs(models: dict[str, TaskModel]) -> None:
    pairs = [["what bakes?", "Clara bakes bread"], ["what bakes?", "robots in space"]]
    reply = ask(models["sentence-ranking"], {"inputs": pairs})
    assert len(reply["scores"]) == 2
    assert all(is_probability(score) for score in reply["scores"])  # sigmoid of a one-logit model
    single = ask(models["sentence-ranking"], {"inputs": pairs[0]})
    assert len(single["scores"]) == 1
    assert math.isclose(single["scores"][0], reply["scores"][0], rel_tol=1e-4)


@pytest.mark.parametrize("return_documents", [False, True])
def test_ranking_query_form_sorted(models: dict[str, TaskModel], return_documents: bool) -> None:
    texts = ["Clara bakes bread", "robots in space", "a bakery near the campus", "cats"]
    body = {"inputs": {"query": "who bakes?", "texts": texts, "return_documents": return_documents}}
    reply = ask(models["sentence-ranking"], body)
    assert sorted(entry["index"] for entry in reply) == list(range(len(texts)))
    scores = [entry["score"] for entry in reply]
    assert scores == sorted(scores, reverse=True)
    for entry in reply:
        assert ("text" in entry) is return_documents
        if return_documents:
            assert entry["text"] == texts[entry["index"]]


def test_rank_follows_tei_raw_scores(models: dict[str, TaskModel]) -> None:
    ranker = models["sentence-ranking"]
    assert isinstance(ranker, Ranker)
    texts = ["Clara bakes bread", "robots in space", "cats"]
    raw = ranker.rank("who bakes?", texts, raw_scores=True, return_text=True, truncate=False)
    squashed = ranker.rank("who bakes?", texts, raw_scores=False, return_text=False, truncate=False)
    assert [entry["index"] for entry in raw] == [entry["index"] for entry in squashed]
    assert [entry["text"] for entry in raw] == [texts[entry["index"]] for entry in raw]
    assert "text" not in squashed[0]
    for logit, score in zip(raw, squashed, strict=True):
        assert math.isclose(1 / (1 + math.exp(-logit["score"])), score["score"], rel_tol=1e-5)


def test_rank_long_text_needs_truncate(models: dict[str, TaskModel]) -> None:
    ranker = models["sentence-ranking"]
    assert isinstance(ranker, Ranker)
    with pytest.raises(InputTooLong, match="Text 1"):
        ranker.rank("q", ["short", LONG_TEXT], raw_scores=False, return_text=False, truncate=False)
    ranked = ranker.rank("q", ["short", LONG_TEXT], raw_scores=False, return_text=False, truncate=True)
    assert len(ranked) == 2


def test_text_ranking_is_the_same_task(dirs: dict[str, Path]) -> None:
    model = load_task_model(dirs["cross-encoder"], "text-ranking")
    assert model.task == "text-ranking"
    assert isinstance(model, Ranker)
    assert len(ask(model, {"inputs": [["a", "b"]]})["scores"]) == 1


# --- bad shapes, empty inputs, bad parameters ------------------------------------------------------

BAD_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    ("text-classification", {"inputs": 3}, "a string or a list of strings"),
    ("text-classification", {"inputs": ["a", 3]}, "a string or a list of strings"),
    ("text-classification", {"text": "no inputs key"}, '"inputs"'),
    ("text-classification", {"inputs": "a", "parameters": ["top_k"]}, "parameters"),
    ("token-classification", {"inputs": {"text": "a"}}, "a string or a list of strings"),
    ("zero-shot-classification", {"inputs": [["a"]]}, "a string or a list of strings"),
    ("fill-mask", {"inputs": None}, "a string or a list of strings"),
    ("question-answering", {"inputs": "what?"}, '{"question": str, "context": str}'),
    ("question-answering", {"inputs": {"question": "what?"}}, '{"question": str, "context": str}'),
    ("sentence-ranking", {"inputs": "a"}, "[[a, b], ...]"),
    ("sentence-ranking", {"inputs": [["a", "b", "c"]]}, "[[a, b], ...]"),
    ("sentence-ranking", {"inputs": {"query": "q", "texts": "not a list"}}, '"texts": [str]'),
]


@pytest.mark.parametrize(("task", "body", "says"), BAD_SHAPES)
def test_bad_shapes_say_what_the_task_takes(
    models: dict[str, TaskModel], task: str, body: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        models[task](body)
    assert not isinstance(caught.value, EmptyInput)
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("task", "body"),
    [
        ("text-classification", {"inputs": ""}),
        ("text-classification", {"inputs": []}),
        ("token-classification", {"inputs": ["a", ""]}),
        ("fill-mask", {"inputs": []}),
        ("zero-shot-classification", {"inputs": "", "parameters": {"candidate_labels": ["a"]}}),
        ("sentence-ranking", {"inputs": []}),
        ("sentence-ranking", {"inputs": {"query": "q", "texts": []}}),
        ("question-answering", {"inputs": {"question": "who?", "context": ""}}),
    ],
)
def test_empty_inputs(models: dict[str, TaskModel], task: str, body: dict[str, Any]) -> None:
    with pytest.raises(EmptyInput):
        models[task](body)


@pytest.mark.parametrize(
    ("task", "parameters", "says"),
    [
        ("text-classification", {"topk": 2}, "takes no parameter 'topk'"),
        ("text-classification", {"top_k": 0}, "top_k of task text-classification must be an integer"),
        ("text-classification", {"function_to_apply": "tanh"}, "one of sigmoid, softmax, none"),
        ("token-classification", {"aggregation_strategy": "mean"}, "one of none, simple"),
        ("token-classification", {"stride": 4}, "aggregation_strategy other than none"),
        ("zero-shot-classification", {"multi_label": True}, "candidate_labels is missing"),
        ("zero-shot-classification", {"candidate_labels": []}, "candidate_labels"),
        ("zero-shot-classification", {"candidate_labels": ["a"], "hypothesis_template": "x"}, '"{}"'),
        ("fill-mask", {"targets": []}, "targets"),
        ("question-answering", {"top_k": "3"}, "top_k"),
    ],
)
def test_bad_parameters(
    models: dict[str, TaskModel], task: str, parameters: dict[str, Any], says: str
) -> None:
    inputs: Any = {
        "fill-mask": "a [MASK]",
        "question-answering": {"question": "who?", "context": CONTEXT},
    }.get(task, "some text")
    with pytest.raises(ValidationFailed) as caught:
        models[task]({"inputs": inputs, "parameters": parameters})
    assert says in caught.value.message


# --- fitting the model to the task -----------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(PIPELINE_TASKS))
def test_a_model_without_the_head_does_not_fit(dirs: dict[str, Path], task: str) -> None:
    with pytest.raises(TaskMismatch) as caught:
        load_task_model(dirs["bare"], task)
    assert "architecture BertModel" in caught.value.message
    assert f"task {task} needs one (…For" in caught.value.message
    assert caught.value.status_code == 422
    assert caught.value.kind == "task_mismatch"


def test_zero_shot_needs_an_entailment_label(dirs: dict[str, Path]) -> None:
    with pytest.raises(TaskMismatch, match="entailment"):
        load_task_model(dirs["classifier"], "zero-shot-classification")


def test_a_masked_lm_is_no_classifier(dirs: dict[str, Path]) -> None:
    with pytest.raises(TaskMismatch, match="BertForMaskedLM, which has no sequence-classification head"):
        load_task_model(dirs["mlm"], "text-classification")


def test_unknown_task_and_missing_config(dirs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="not one of the pipeline tasks"):
        load_task_model(dirs["classifier"], "summarization")
    with pytest.raises(BackendFailure, match=r"no config\.json"):
        load_task_model(tmp_path, "text-classification")


# --- custom handlers -------------------------------------------------------------------------------

RECORDING_HANDLER = """
import numpy as np
from handler_helper_for_inferhouse_tests import SUFFIX


class EndpointHandler:
    def __init__(self, path):
        self.path = path

    def __call__(self, data):
        inputs = data.pop("inputs")
        return {"path": self.path + SUFFIX, "inputs": inputs, "rest": data, "score": np.float32(0.5)}
"""


def test_a_custom_handler_wins_over_the_task_and_gets_the_whole_body(tmp_path: Path) -> None:
    model_dir = tmp_path / "custom"
    write_custom_handler(model_dir, RECORDING_HANDLER)
    (model_dir / "handler_helper_for_inferhouse_tests.py").write_text("SUFFIX = '!'\n")
    try:
        # No config.json at all: the handler decides, whatever the task.
        model = load_task_model(model_dir, "text-classification")
    finally:
        sys.modules.pop("handler_helper_for_inferhouse_tests", None)
    assert model.task == "text-classification"
    body = {"inputs": ["x"], "parameters": {"k": 1}, "extra": True}
    reply = model(body)
    assert reply == {
        "path": str(model_dir) + "!",
        "inputs": ["x"],
        "rest": {"parameters": {"k": 1}, "extra": True},
        "score": 0.5,
    }
    assert type(reply["score"]) is float  # numpy's float32 made plain
    assert body["inputs"] == ["x"]  # the handler popped from a copy
    assert str(model_dir) not in sys.path
    assert "handler" not in sys.modules


def handler_source(init: str = "pass", call: str = "return None") -> str:
    """A handler.py whose EndpointHandler runs ``init`` when built and ``call`` when called."""
    return (
        "class EndpointHandler:\n"
        f"    def __init__(self, path):\n        {init}\n\n"
        f"    def __call__(self, data):\n        {call}\n"
    )


def test_each_handler_load_is_its_own_module(tmp_path: Path) -> None:
    write_custom_handler(tmp_path, handler_source(call="return id(type(self))"))
    first = load_task_model(tmp_path, "custom")
    second = load_task_model(tmp_path, "custom")
    assert first({"inputs": 1}) != second({"inputs": 1})


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("def broken(:\n", "failed to import"),
        ("X = 1\n", "defines no EndpointHandler"),
        (handler_source(init="raise RuntimeError('no weights')"), "no weights"),
    ],
)
def test_a_broken_handler_fails_to_load(tmp_path: Path, source: str, says: str) -> None:
    write_custom_handler(tmp_path, source)
    with pytest.raises(BackendFailure, match=says):
        load_task_model(tmp_path, "text-classification")


def test_a_handler_reply_must_be_json(tmp_path: Path) -> None:
    write_custom_handler(tmp_path, handler_source(call="return {'x': object()}"))
    model = load_task_model(tmp_path, "text-classification")
    with pytest.raises(BackendFailure, match="not JSON"):
        model({"inputs": "a"})


# --- trust_remote_code -----------------------------------------------------------------------------


def test_remote_code_is_refused_unless_asked(dirs: dict[str, Path], tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    for item in dirs["classifier"].iterdir():
        (remote / item.name).write_bytes(item.read_bytes())
    config = json.loads((remote / "config.json").read_text())
    config.update(
        model_type="inferhouse-remote",
        architectures=["RemoteBertForSequenceClassification"],
        auto_map={"AutoConfig": "configuration_remote.RemoteConfig"},
    )
    (remote / "config.json").write_text(json.dumps(config))
    for task in ("text-classification", "sentence-ranking"):
        with pytest.raises(BackendFailure, match="trust_remote_code=True"):
            load_task_model(remote, task)


@pytest.mark.parametrize("trust", [False, True])
def test_trust_remote_code_reaches_the_loaders(
    dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, trust: bool
) -> None:
    import sentence_transformers
    import transformers

    seen: list[dict[str, Any]] = []

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen.append(kwargs)
            return original(*args, **kwargs)

        return call

    for name in ("AutoTokenizer", "AutoModelForSequenceClassification"):
        auto = getattr(transformers, name)
        monkeypatch.setattr(auto, "from_pretrained", spy(auto.from_pretrained))
    monkeypatch.setattr(sentence_transformers, "CrossEncoder", spy(sentence_transformers.CrossEncoder))
    load_task_model(dirs["classifier"], "text-classification", trust_remote_code=trust)
    load_task_model(dirs["cross-encoder"], "sentence-ranking", trust_remote_code=trust)
    # The tokenizer and model loads, the cross-encoder, and the loads the cross-encoder makes itself.
    assert len(seen) >= 3
    assert all(kwargs["trust_remote_code"] is trust for kwargs in seen)
    assert all(kwargs["local_files_only"] is True for kwargs in seen)


# --- huggingface_hub.InferenceClient reads the replies ---------------------------------------------

URL = "http://inferhouse.invalid/endpoint"


@pytest.fixture
def client_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[TaskModel], InferenceClient]:
    """A real InferenceClient whose one HTTP call is answered in-process by ``model``: the client builds
    the body and parses the reply with its own code."""

    def make(model: TaskModel) -> InferenceClient:
        client = InferenceClient(model=URL, token="hf_test")

        def post(request_parameters: Any, *, stream: bool = False) -> bytes:
            assert request_parameters.url == URL
            assert not stream
            return json.dumps(ask(model, request_parameters.json)).encode()

        monkeypatch.setattr(client, "_inner_post", post)
        return client

    return make


def test_client_text_classification(models: dict[str, TaskModel], client_for: Any) -> None:
    elements = client_for(models["text-classification"]).text_classification("I like you", top_k=3)
    assert isinstance(elements, list)
    assert all(isinstance(element, TextClassificationOutputElement) for element in elements)
    assert {element.label for element in elements} == set(SENTIMENT.values())


def test_client_token_classification(models: dict[str, TaskModel], client_for: Any) -> None:
    text = "sarah lives in berkeley"
    client = client_for(models["token-classification"])
    elements = client.token_classification(text, aggregation_strategy="first", ignore_labels=[])
    assert elements
    for element in elements:
        assert isinstance(element, TokenClassificationOutputElement)
        assert text[element.start : element.end] == element.word


def test_client_zero_shot_classification(models: dict[str, TaskModel], client_for: Any) -> None:
    client = client_for(models["zero-shot-classification"])
    elements = client.zero_shot_classification("Clara bakes", ["baking", "space"], multi_label=True)
    assert all(isinstance(element, ZeroShotClassificationOutputElement) for element in elements)
    assert sorted(element.label for element in elements) == ["baking", "space"]


def test_client_fill_mask(models: dict[str, TaskModel], client_for: Any) -> None:
    elements = client_for(models["fill-mask"]).fill_mask("the cat [MASK] on the mat", targets=["sat"])
    assert all(isinstance(element, FillMaskOutputElement) for element in elements)
    assert elements[0].sequence == "the cat sat on the mat"


def test_client_question_answering(models: dict[str, TaskModel], client_for: Any) -> None:
    client = client_for(models["question-answering"])
    answer = client.question_answering(question="What is my name?", context=CONTEXT)
    assert isinstance(answer, QuestionAnsweringOutputElement)
    assert CONTEXT[answer.start : answer.end] == answer.answer
    several = client.question_answering(question="What is my name?", context=CONTEXT, top_k=2)
    assert isinstance(several, list)
    assert len(several) == 2
