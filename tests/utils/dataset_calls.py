"""What the dataset tests do with a running server: make a dataset, send photos, look at what
its folder holds and whether the staging area was cleared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


def make(client: httpx.Client, name: str, **extra: object) -> dict[str, Any]:
    response = client.post("/api/datasets", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def send(client: httpx.Client, name: str, label: str, photos: dict[str, bytes]) -> httpx.Response:
    files = [("files", (file, data)) for file, data in photos.items()]
    return client.post(f"/api/datasets/{name}/images", data={"label": label}, files=files)


def stored(data_dir: Path, name: str) -> list[str]:
    """Every file of the dataset's folder, relative to it."""
    root = data_dir / name
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def staging_is_empty(data_dir: Path) -> bool:
    staging = data_dir / ".staging"
    return not staging.exists() or not any(staging.iterdir())
