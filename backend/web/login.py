"""Sign-in for the page when a token is configured: an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.web import render
from backend.web.deps import ServicesDep
from backend.web.security import MAX_TOKEN_CHARS, WRONG_TOKEN, token_cookie, token_matches

router = APIRouter(include_in_schema=False)


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
