"""The datasets API's bodies: JSON models, and the multipart uploads (read by hand, so that
they are limited while they stream) described for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.web.schemas import ErrorOut
from food_vision.datasets.manifest import MAX_TEST_FRACTION, MIN_TEST_FRACTION
from food_vision.datasets.naming import (
    MAX_CLASS_NAME_CHARS,
    MAX_DATASET_NAME_CHARS,
    check_class_name,
    check_dataset_name,
)


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, AfterValidator(check_dataset_name)] = Field(
        min_length=1, max_length=MAX_DATASET_NAME_CHARS
    )
    test_fraction: float | None = Field(
        None,
        ge=MIN_TEST_FRACTION,
        le=MAX_TEST_FRACTION,
        allow_inf_nan=False,
        description="share of photos added per class that go to test (default 0.2)",
    )


class ClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, AfterValidator(check_class_name)] = Field(
        min_length=1, max_length=4 * MAX_CLASS_NAME_CHARS
    )


class SplitCountsOut(BaseModel):
    train: int
    test: int


class SplitRuleOut(BaseModel):
    rule: str
    test_fraction: float


class PhotoOut(BaseModel):
    id: str
    label: str
    split: str
    file: str


class DatasetOut(BaseModel):
    name: str
    classes: list[str]
    counts: dict[str, SplitCountsOut]
    source: str
    split: SplitRuleOut
    created: float
    updated: float
    version: int
    problems: list[str]
    ready: bool
    photos: list[PhotoOut]


class AcceptedOut(BaseModel):
    file: str
    id: str
    label: str
    split: str


class DuplicateOut(BaseModel):
    file: str
    same_as: str


class SkippedOut(BaseModel):
    file: str
    reason: str


class ImportReportOut(BaseModel):
    accepted: list[AcceptedOut]
    duplicates: list[DuplicateOut]
    skipped: list[SkippedOut]
    counts: dict[str, SplitCountsOut]


def multipart_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


PHOTOS_BODY = multipart_body(
    ["label", "files"],
    {
        "label": {"type": "string", "description": "the class the photos show"},
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
)
ARCHIVE_BODY = multipart_body(
    ["file"],
    {"file": {"type": "string", "format": "binary", "description": "a zip of class folders"}},
)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Each status's error body and meaning, for a route's ``responses``."""
    return {status: {"model": ErrorOut, "description": MEANINGS[status]} for status in statuses}


MEANINGS = {
    400: "malformed multipart body, or a missing field",
    404: "no managed dataset, class or photo of that name",
    409: "exists already, or a queued or running run uses the dataset",
    413: "too large: a request, too many files, or the datasets' size limit",
    415: "not a multipart form",
    422: "a name that is not allowed, or an archive refused as unsafe",
    507: "the server's disk is full; nothing was changed",
}
