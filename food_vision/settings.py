"""Settings from ``FOODVISION_*`` environment variables or a ``.env`` file: the one place that
says where FoodVision keeps its files and how the server and trainer behave.

The trainer, the command line and the server all read them here; nothing is read at import.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
Engine = Literal["onnxruntime", "torch"]  # what runs prediction's forward passes
DEFAULT_ENGINE: Engine = "onnxruntime"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOODVISION_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".foodvision"), description="run store and data root")
    data_dir: Path | None = Field(None, description="datasets; default <home>/data")
    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, ge=1, le=65535, description="bind port")
    framework: Literal["fastapi", "flask"] = Field(
        "fastapi", description="web layer: FastAPI on uvicorn, or Flask on Gunicorn"
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host header names served, comma-separated; default loopback + bind address",
    )
    token: str | None = Field(None, description="when set, required by every API call")
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="upload size limit")
    max_image_pixels: int = Field(50_000_000, ge=10_000, description="decoded pixel limit")
    max_photo_bytes: int = Field(64 * 1024**2, ge=1024, description="one dataset photo's size")
    max_photos_per_upload: int = Field(1000, ge=1, le=100_000, description="files per upload")
    max_dataset_upload_bytes: int = Field(
        2 * 1024**3, ge=1024, description="one dataset upload's size (photos or a zip)"
    )
    max_datasets_bytes: int = Field(
        20 * 1024**3, ge=1024, description="size of all managed datasets together"
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL of the run queue (shared by workers on other machines); "
        "default a private one under <home>/postgres",
    )
    max_queued: int = Field(20, ge=1, le=10_000, description="runs waiting before 409")
    server_worker: bool = Field(
        True, description="the server trains queued runs itself (off: only `foodvision worker`s do)"
    )
    heartbeat_seconds: float = Field(
        10.0, gt=0, le=300, description="worker heartbeat; silent for 3 beats = worker gone"
    )
    grace_seconds: float = Field(10.0, gt=0, le=300, description="cancel grace before SIGKILL")
    server_threads: int = Field(1, ge=1, le=64, description="torch threads for inference")
    inference_engine: Engine = Field(
        DEFAULT_ENGINE, description="what runs prediction's forward passes: onnxruntime or torch"
    )
    lone_prediction_threads: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
        le=64,
        description="threads of a prediction that finds no other under way (ONNX Runtime; they "
        "spin a while after each pass, so at most 4 by default)",
    )
    trainer_threads: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1),
        ge=1,
        le=256,
        description="torch threads for the trainer (keeps a core for the server)",
    )
    model_cache_size: int = Field(4, ge=1, le=64, description="models kept loaded")
    batch_window_ms: float = Field(5.0, ge=0, le=1000, description="micro-batch wait window")
    # On a CPU a forward pass costs more per image past a few images (activations leave the
    # cache): EfficientNet-Lite0 measured 62, 65, 67, 84, 108 ms/image at batch 1, 2, 4, 8, 16
    # (tinyvgg 2.9, 2.4, 2.2, 2.0, 3.2), so 4 keeps both near their best.
    max_batch: int = Field(4, ge=1, le=256, description="largest micro-batch")
    max_pending_predictions: int = Field(64, ge=1, le=10_000, description="queue before 503")
    trainer_workers: int | None = Field(None, ge=0, le=16, description="data loader workers")
    trainer_niceness: int = Field(
        5,
        ge=0,
        le=19,
        description="how far the trainer yields the CPU to the server (nice; above 0 also "
        "Linux's idle scheduling class)",
    )
    tensorboard: bool = Field(False, description="TensorBoard scalars for runs that do not say")
    image_workers: int = Field(
        default_factory=lambda: max(1, min(4, (os.cpu_count() or 2) - 1)),
        ge=1,
        le=32,
        description="processes that decode and preprocess uploaded images",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="time a connection has to send its request headers"
    )
    body_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="time a request body has to arrive in full"
    )
    send_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="time a page may leave a live update unread"
    )
    max_connections: int = Field(
        500, ge=8, le=100_000, description="open connections before new requests get 503"
    )

    @field_validator("host")
    @classmethod
    def _host_is_address(cls, value: str) -> str:
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or 'localhost'") from None
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir or self.home / "data"

    @property
    def postgres_dir(self) -> Path:
        return self.home / "postgres"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def served_hosts(self) -> list[str]:
        """The names a request's ``Host`` may carry: the configured list, else loopback + bind."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        return list(dict.fromkeys([*LOOPBACK_NAMES, self.host]))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
