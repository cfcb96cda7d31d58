"""The page, its vendored Plotly.js, and the health check."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=ROOT / "templates")
router = APIRouter()

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@lru_cache
def plotly_version() -> str:
    with PLOTLY_JS.open(encoding="utf-8") as f:
        match = re.search(r"plotly\.js v([\w.\-]+)", f.read(400))
    return match.group(1) if match else "unknown"


@router.get("/healthz", tags=["meta"])
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/vendor/plotly-{version}.min.js", include_in_schema=False)
def plotly_js(version: str) -> FileResponse:
    # The version is in the name so a new plotly package is a new URL; the file itself never changes.
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"plotly_version": plotly_version()})
