"""``/docs`` (Swagger UI) and ``/redoc`` from the pinned copies that the set-up fetched from the
npm registry, so the API documentation works offline (the CDN only while they are absent)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from frontend.vendor import asset_url

router = APIRouter(include_in_schema=False)
TITLE = "FoodVision API"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=TITLE,
        swagger_js_url=asset_url("swagger-ui-bundle.js"),
        swagger_css_url=asset_url("swagger-ui.css"),
        swagger_favicon_url=asset_url("swagger-favicon.png"),
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=TITLE,
        redoc_js_url=asset_url("redoc.standalone.js"),
        redoc_favicon_url=asset_url("swagger-favicon.png"),
        with_google_fonts=False,
    )
