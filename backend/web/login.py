"""Sign-in for the page when a token is configured: an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.web import render
from backend.web.deps import ServicesDep
from backend.web.security import TOKEN_COOKIE, token_matches

router = APIRouter(include_in_schema=False)
COOKIE_MAX_AGE = 30 * 24 * 3600
MAX_TOKEN_CHARS = 1000
WRONG_TOKEN = "That token is not right."


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render.templates.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, services: ServicesDep, token: str = Form(max_length=MAX_TOKEN_CHARS)
) -> Response:
    expected = services.settings.token
    if not expected:
        return RedirectResponse("/", status_code=303)
    if not token_matches(token, expected):
        return render.templates.TemplateResponse(
            request, "login.html", {"error": WRONG_TOKEN}, status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(**token_cookie(token, https=request.url.scheme == "https"))
    return response


def token_cookie(token: str, *, https: bool) -> dict[str, Any]:
    """``set_cookie``'s arguments for the sign-in cookie (Starlette's and Werkzeug's alike)."""
    return {
        "key": TOKEN_COOKIE,
        "value": token,
        "max_age": COOKIE_MAX_AGE,
        "httponly": True,
        "samesite": "strict",
        "secure": https,
    }
