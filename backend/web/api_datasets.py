"""JSON API for managed datasets: make one, fill it with photos or a zip, read it, thin it
out, delete it. Uploads are streamed to the service, which limits them as they arrive."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse

from backend.web.dataset_actions import THUMBNAIL_CACHE
from backend.web.dataset_schemas import (
    ARCHIVE_BODY,
    PHOTOS_BODY,
    ClassIn,
    DatasetIn,
    DatasetOut,
    ImportReportOut,
    errors,
)
from backend.web.deps import ServicesDep
from backend.web.uploads import request_body

router = APIRouter(prefix="/api/datasets", tags=["datasets"])
UPLOAD_ERRORS = errors(400, 404, 413, 415, 422, 507)


@router.post("", status_code=201, responses=errors(409, 507))
async def create_dataset(body: DatasetIn, services: ServicesDep) -> DatasetOut:
    """An empty managed dataset (201); 409 when the name is taken; 422 for a bad name."""
    await services.library.create(body.name, body.test_fraction)
    return DatasetOut(**(await services.library.detail(body.name)).to_dict())


@router.get("/{name}", responses=errors(404))
async def get_dataset(name: str, services: ServicesDep) -> DatasetOut:
    """The manifest: classes, counts per split, what is missing before it can train, photos."""
    return DatasetOut(**(await services.library.detail(name)).to_dict())


@router.post("/{name}/images", openapi_extra=PHOTOS_BODY, responses=UPLOAD_ERRORS)
async def add_photos(name: str, request: Request, services: ServicesDep) -> ImportReportOut:
    """Photos of one class: multipart ``label`` and ``files``; the per-file report."""
    report = await services.library.upload_photos(name, request_body(request))
    return ImportReportOut(**report.to_dict())


@router.post("/{name}/archive", openapi_extra=ARCHIVE_BODY, responses=UPLOAD_ERRORS)
async def add_archive(name: str, request: Request, services: ServicesDep) -> ImportReportOut:
    """A zip (multipart ``file``) of class folders, or of ``train/`` and ``test/`` (kept)."""
    report = await services.library.upload_archive(name, request_body(request))
    return ImportReportOut(**report.to_dict())


@router.post("/{name}/classes", status_code=201, responses=errors(404, 409, 507))
async def add_class(name: str, body: ClassIn, services: ServicesDep) -> DatasetOut:
    await services.library.add_class(name, body.label)
    return DatasetOut(**(await services.library.detail(name)).to_dict())


@router.delete("/{name}/classes/{label}", status_code=204, responses=errors(404, 409, 507))
async def remove_class(name: str, label: str, services: ServicesDep) -> Response:
    """The class and every photo of it; 409 while a queued or running run uses the dataset."""
    await services.library.remove_class(name, label)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{name}/images/{image_id}", status_code=204, responses=errors(404, 409, 507))
async def remove_photo(name: str, image_id: str, services: ServicesDep) -> Response:
    await services.library.remove_photo(name, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{name}/images/{image_id}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **errors(404)},
)
async def photo_thumbnail(name: str, image_id: str, services: ServicesDep) -> FileResponse:
    """A small JPEG of the photo (at most 128 pixels a side), never the photo itself."""
    path = await services.library.thumbnail(name, image_id)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": THUMBNAIL_CACHE})


@router.delete("/{name}", status_code=204, responses=errors(404, 409, 507))
async def delete_dataset(name: str, services: ServicesDep) -> Response:
    """The dataset and its photos; 409 while a queued or running run uses it."""
    await services.library.delete(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
