"""Text generation dialects: TGI under an endpoint and OpenAI chat completions at the root."""

from inferhouse.api.generation.openai_chat import router as openai_chat_router
from inferhouse.api.generation.tgi import router as tgi_router

__all__ = ["openai_chat_router", "tgi_router"]
