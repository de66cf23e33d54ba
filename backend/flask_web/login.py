"""Sign-in for the page when a token is configured: an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from backend.flask_web.context import services
from backend.flask_web.errors import BodyInvalid
from backend.web import render
from backend.web.security import MAX_TOKEN_CHARS, WRONG_TOKEN, token_cookie, token_matches

login_pages = Blueprint("login", __name__)


@login_pages.get("/login")
def login_form() -> str:
    return render.templates.get_template("login.html").render(error=None)


@login_pages.post("/login")
def login() -> Response | tuple[str, int]:
    expected = services().settings.token
    token = request.form.get("token", "")
    if len(token) > MAX_TOKEN_CHARS:
        raise BodyInvalid(
            [{"loc": ["body", "token"], "msg": "the token is too long", "type": "string_too_long"}]
        )
    if not expected:
        return redirect("/", code=303)  # type: ignore[return-value]
    if not token_matches(token, expected):
        return render.templates.get_template("login.html").render(error=WRONG_TOKEN), 401
    response = redirect("/", code=303)
    response.set_cookie(**token_cookie(token, https=request.scheme == "https"))
    return response  # type: ignore[return-value]
