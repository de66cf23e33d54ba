"""How ``POST /api/predict`` appears in the OpenAPI document: its body is read by hand (to
limit it while it streams), so its multipart fields and error answers are described here."""

from __future__ import annotations

from typing import Any

from backend.services.prediction_request import MAX_TOP_K
from backend.web.schemas import ErrorOut

PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "model": {"type": "string", "description": "run id; default newest"},
                        "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K},
                    },
                }
            }
        },
    }
}

PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "malformed multipart body"),
        (404, "no such model, or no model trained yet"),
        (413, "upload or image too large"),
        (415, "not an accepted image format"),
        (422, "corrupt image or bad top_k"),
        (503, "too many predictions waiting; see Retry-After"),
    )
}
