"""Telemetry of phantomdb_django (docs/observability.md): OpenTelemetry spans, Prometheus metrics.

``metrics_view`` is prometheus-client's own Django view (content negotiation
included: the Prometheus text format, or OpenMetrics with exemplars when the
scraper asks for it), for ``urls.py``::

    path("metrics", phantomdb_django.telemetry.metrics_view)
"""

from __future__ import annotations

from prometheus_client.django import PrometheusDjangoView

__all__ = ["metrics_view"]

metrics_view = PrometheusDjangoView.as_view()
