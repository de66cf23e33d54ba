"""JSON API for managed datasets; uploads stream to the services, which limit them as they
arrive."""

from __future__ import annotations

from flask import Blueprint, Response, send_file

from backend.flask_web.api import NO_CONTENT, answer
from backend.flask_web.bodies import json_body, request_body
from backend.flask_web.context import call, services
from backend.web.dataset_actions import THUMBNAIL_CACHE
from backend.web.dataset_schemas import ClassIn, DatasetIn, DatasetOut, ImportReportOut

datasets = Blueprint("datasets", __name__, url_prefix="/api/datasets")


def manifest(name: str) -> Response:
    return answer(DatasetOut(**call(services().library.detail(name)).to_dict()))


@datasets.post("")
def create_dataset() -> Response:
    body = json_body(DatasetIn)
    call(services().library.create(body.name, body.test_fraction))
    response = manifest(body.name)
    response.status_code = 201
    return response


@datasets.get("/<name>")
def get_dataset(name: str) -> Response:
    return manifest(name)


@datasets.post("/<name>/images")
def add_photos(name: str) -> Response:
    report = call(services().library.upload_photos(name, request_body()))
    return answer(ImportReportOut(**report.to_dict()))


@datasets.post("/<name>/archive")
def add_archive(name: str) -> Response:
    report = call(services().library.upload_archive(name, request_body()))
    return answer(ImportReportOut(**report.to_dict()))


@datasets.post("/<name>/classes")
def add_class(name: str) -> Response:
    call(services().library.add_class(name, json_body(ClassIn).label))
    response = manifest(name)
    response.status_code = 201
    return response


@datasets.delete("/<name>/classes/<label>")
def remove_class(name: str, label: str) -> tuple[str, int]:
    call(services().library.remove_class(name, label))
    return NO_CONTENT


@datasets.delete("/<name>/images/<image_id>")
def remove_photo(name: str, image_id: str) -> tuple[str, int]:
    call(services().library.remove_photo(name, image_id))
    return NO_CONTENT


@datasets.get("/<name>/images/<image_id>/thumbnail")
def photo_thumbnail(name: str, image_id: str) -> Response:
    response = send_file(call(services().library.thumbnail(name, image_id)), "image/jpeg")
    response.headers["Cache-Control"] = THUMBNAIL_CACHE
    return response


@datasets.delete("/<name>")
def delete_dataset(name: str) -> tuple[str, int]:
    call(services().library.delete(name))
    return NO_CONTENT
