"""/docs and /redoc load every asset from the server itself, so they render with no network."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from inferhouse.app import create_app
from inferhouse.settings import Settings

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
SPEC_URL = re.compile(r"""(?:url:\s*|spec-url=)["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_use_only_same_origin_assets_that_answer(tmp_path: Path, page: str) -> None:
    app = create_app(Settings(data_dir=tmp_path, default_endpoint=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inferhouse.test") as client:
        reply = await client.get(page)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/html")
        assets = ASSET.findall(reply.text)
        specs = SPEC_URL.findall(reply.text)
        assert any(url.endswith(".js") for url in assets)
        assert specs == ["/openapi.json"]
        for url in assets + specs:
            assert httpx.URL(url).host == "", f"{page} loads {url} from elsewhere"
            assert url.startswith("/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 0, url
