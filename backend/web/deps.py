"""Dependencies shared by the routes: the services, the page feed and the run named in the
path. All are coroutines: FastAPI runs a plain function dependency in its thread pool, a
thread hop per request for what is an attribute read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.services.container import Services
from backend.web.page_feed import PageFeed
from backend.web.run_api import live_run
from food_vision.runs import RunRecord


async def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_page_feed(conn: HTTPConnection) -> PageFeed:
    feed: PageFeed = conn.app.state.page_feed
    return feed


PageFeedDep = Annotated[PageFeed, Depends(get_page_feed)]


async def get_run(run_id: str, services: ServicesDep) -> RunRecord:
    """The run, with the live state of the active one; 404 for an unknown or invalid id."""
    return await live_run(services, run_id)


RunDep = Annotated[RunRecord, Depends(get_run)]
