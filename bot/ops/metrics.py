"""Prometheus metrics of the web service, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "mehfooz_messages", "Messages handled, by channel and intent", ["channel", "intent"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "mehfooz_fallbacks", "Messages the bot did not understand", ["channel"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "mehfooz_outcomes", "Messages by outcome (answered, duplicate, rate_limited, silenced)",
            ["channel", "outcome"], registry=self.registry,
        )
        self.rejected = Counter(
            "mehfooz_rejected_requests", "Webhook requests refused, by reason", ["channel", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mehfooz_latency_seconds", "Time to handle one webhook request", ["channel"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )

    def handled(self, channel: str, status: str, intent: str | None) -> None:
        self.outcomes.labels(channel, status).inc()
        if status == "answered" and intent:
            self.messages.labels(channel, intent).inc()
            if intent == "fallback":
                self.fallbacks.labels(channel).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
