"""The API documentation page (``/api/docs``): Swagger UI served from the ``swagger-ui-py`` package's
static files (no CDN), started by a script file (the Content-Security-Policy allows no inline script)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

router = APIRouter(prefix="/api/docs", include_in_schema=False)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meta Liverpool API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/start.js"></script>
</body>
</html>
"""

START = """window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's built files in the installed ``swagger-ui-py`` package."""
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.submodule_search_locations, "swagger-ui-py is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get("")
def page() -> HTMLResponse:
    """The Swagger UI page."""
    return HTMLResponse(PAGE)


@router.get("/start.js")
def start() -> Response:
    """The script that starts Swagger UI on this server's schema."""
    return Response(START, media_type="text/javascript")


def install_docs(app: FastAPI) -> None:
    """Serve the documentation page and Swagger UI's files."""
    app.include_router(router)
    app.mount("/api/docs/static", StaticFiles(directory=swagger_ui_dir()), name="api-docs")
