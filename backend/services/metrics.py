"""Prometheus metrics of one app instance, in its own registry (tests run several apps)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from food_vision.runs import RunRecord, RunStatus

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class _RunsByStatus(Collector):
    """Counted from the run store at scrape time, so the figures survive restarts."""

    def __init__(self, list_runs: Callable[[], list[RunRecord]]) -> None:
        self.list_runs = list_runs

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "foodvision_runs", "Runs in the store by status", labels=["status"]
        )
        counts = dict.fromkeys((s.value for s in RunStatus), 0)
        for record in self.list_runs():
            counts[record.status.value] += 1
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family


class Metrics:
    def __init__(self, list_runs: Callable[[], list[RunRecord]]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_RunsByStatus(list_runs))
        self.runs_finished = Counter(
            "foodvision_runs_finished",
            "Runs that ended in this process, by final status",
            ["status"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "foodvision_run_duration_seconds",
            "Wall time of finished runs",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "foodvision_predictions",
            "Prediction requests by outcome (ok, or the HTTP status of the refusal)",
            ["outcome"],
            registry=self.registry,
        )
        self.prediction_latency = Histogram(
            "foodvision_prediction_latency_seconds",
            "Latency of successful predictions",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "foodvision_microbatch_size",
            "Images per forward pass",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.websockets = Gauge(
            "foodvision_websockets_open",
            "Open WebSockets (page and event streams)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "foodvision_prediction_queue_depth",
            "Predictions waiting for a forward pass",
            registry=self.registry,
        )

    def run_finished(self, record: RunRecord) -> None:
        self.runs_finished.labels(record.status.value).inc()
        if record.finished_at is not None:
            self.run_duration.observe(max(0.0, record.finished_at - record.created_at))

    def render(self) -> bytes:
        return generate_latest(self.registry)
