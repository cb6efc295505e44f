"""Turning chat messages into a prompt with the tokenizer's own chat template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inferhouse.errors import ValidationFailed


def _check_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise ValidationFailed("`messages` must be a list of {role, content} objects")
    if not messages:
        raise ValidationFailed("`messages` must not be empty")
    checked: list[dict[str, Any]] = []
    for number, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ValidationFailed(f"`messages[{number}]` must be an object with `role` and `content`")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise ValidationFailed(f"`messages[{number}].role` must be a non-empty string")
        content = message.get("content")
        if content is None and role == "assistant":  # an assistant turn that only called tools
            content = ""
        if isinstance(content, list):
            # OpenAI's content parts: only text parts can reach a text model.
            texts = []
            for part in content:
                if not isinstance(part, Mapping) or part.get("type") != "text":
                    raise ValidationFailed(
                        f"`messages[{number}].content` may only hold text parts for this model"
                    )
                if not isinstance(part.get("text"), str):
                    raise ValidationFailed(f"`messages[{number}].content` text parts need a string `text`")
                texts.append(part["text"])
            content = "".join(texts)
        if not isinstance(content, str):
            raise ValidationFailed(f"`messages[{number}].content` must be a string or a list of text parts")
        checked.append({**message, "role": role, "content": content})
    return checked


def render_chat(tokenizer: Any, messages: Sequence[Mapping[str, Any]]) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise ValidationFailed(
            "This model has no chat template; send a plain prompt to /generate instead, "
            "or use a model whose tokenizer defines one"
        )
    checked = _check_messages(messages)
    try:
        prompt = tokenizer.apply_chat_template(checked, tokenize=False, add_generation_prompt=True)
    except Exception as error:  # the template itself rejects the conversation (raise_exception, ...)
        raise ValidationFailed(f"The model's chat template rejected these messages: {error}") from None
    if not isinstance(prompt, str):
        raise ValidationFailed("The model's chat template did not produce a text prompt")
    return prompt
