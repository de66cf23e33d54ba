"""What a run would download before training (a dataset, ImageNet weights), checked before
it starts: an offline server refuses the choice at once, in words the page uses, instead of
a run that fails seconds later on a name lookup."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from backend.services.datasets import DatasetInfo
from food_vision.config import ConfigError, TrainConfig
from food_vision.datasets.registry import NAMED
from food_vision.models import ARCHITECTURES, DEFAULT_ARCHITECTURE, get_architecture
from food_vision.models.weights_cache import download_url, needs_download

CONNECT_TIMEOUT_SECONDS = 3.0
REMEMBER_SECONDS = 30.0  # a server's connectivity, once probed, for this long

Probe = Callable[[str], Awaitable[bool]]


async def can_connect(url: str) -> bool:
    """Whether a TCP connection to the URL's host opens within the timeout (nothing is sent)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, port), CONNECT_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class DownloadCheck:
    def __init__(self, probe: Probe = can_connect) -> None:
        self.probe = probe
        self._seen: dict[str, tuple[float, bool]] = {}

    async def refuse_impossible(self, config: TrainConfig, dataset: DatasetInfo) -> None:
        """Raise ConfigError for a download this server cannot make now."""
        named = NAMED.get(config.dataset)
        to_fetch = named is not None and not dataset.entry.available and named.download_url
        if named is not None and to_fetch and not await self._reachable(named.download_url):
            raise ConfigError(
                "dataset",
                f"{named.name} is not on this server yet and its {named.download_size} "
                "download cannot be reached from here. Choose the demo dataset or a "
                "dataset of your own photos.",
            )
        arch = get_architecture(config.architecture)
        weights = bool(config.pretrained) and needs_download(arch)
        if weights and not await self._reachable(download_url(arch)):
            bundled = ARCHITECTURES[DEFAULT_ARCHITECTURE].short_title
            raise ConfigError(
                "pretrained",
                f"{arch.short_title}'s ImageNet weights are not on this server and cannot "
                "be downloaded from here. Untick “Start from ImageNet weights” to train "
                f"it from scratch, or choose {bundled}, whose weights come with the app.",
            )

    async def _reachable(self, url: str) -> bool:
        host = urlsplit(url).netloc
        now = time.monotonic()
        seen = self._seen.get(host)
        if seen is None or now - seen[0] > REMEMBER_SECONDS:
            seen = (now, await self.probe(url))
            self._seen[host] = seen
        return seen[1]
