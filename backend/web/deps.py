"""Dependencies shared by the routes: the services and the run named in the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from backend.services.container import Services
from backend.services.run_store import RunNotFoundError
from food_vision.runs import RunRecord


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_run(run_id: str, services: ServicesDep) -> RunRecord:
    """The run, with the live state of the active one; 404 for an unknown or invalid id."""
    try:
        return services.runs.live(services.store.get(run_id))
    except RunNotFoundError:
        raise HTTPException(404, f"no run {run_id!r}") from None


RunDep = Annotated[RunRecord, Depends(get_run)]
