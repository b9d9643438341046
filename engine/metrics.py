"""Prometheus view of the engine: a collector that reads producer and consumer stats at scrape time, so
the forwarding path never touches a metrics object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from engine.engine import Engine

_PRODUCER = ("stream", "publisher", "kind")
_CONSUMER = ("stream", "publisher", "kind", "session")


class EngineCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        sessions = GaugeMetricFamily("mixillo_media_sessions", "Open WHIP/WHEP sessions", labels=["role"])
        routers = GaugeMetricFamily("mixillo_media_routers", "Live streams with a Router")
        p_packets = CounterMetricFamily(
            "mixillo_media_producer_packets", "RTP packets received", labels=_PRODUCER
        )
        p_bytes = CounterMetricFamily(
            "mixillo_media_producer_bytes", "RTP payload bytes received", labels=_PRODUCER
        )
        p_rate = GaugeMetricFamily(
            "mixillo_media_producer_bitrate_bps", "Receive bitrate", labels=_PRODUCER
        )
        p_lost = CounterMetricFamily(
            "mixillo_media_producer_packets_lost", "Packets lost", labels=_PRODUCER
        )
        p_nacks = CounterMetricFamily(
            "mixillo_media_producer_nacks", "NACKs sent to the publisher", labels=_PRODUCER
        )
        p_plis = CounterMetricFamily(
            "mixillo_media_producer_plis", "PLIs sent to the publisher", labels=_PRODUCER
        )
        c_packets = CounterMetricFamily(
            "mixillo_media_consumer_packets", "RTP packets sent", labels=_CONSUMER
        )
        c_bytes = CounterMetricFamily(
            "mixillo_media_consumer_bytes", "RTP payload bytes sent", labels=_CONSUMER
        )
        c_rate = GaugeMetricFamily(
            "mixillo_media_consumer_bitrate_bps", "Send bitrate", labels=_CONSUMER
        )
        c_lost = GaugeMetricFamily(
            "mixillo_media_consumer_packets_lost", "Lost (receiver reports)", labels=_CONSUMER
        )
        c_nacks = CounterMetricFamily(
            "mixillo_media_consumer_nacks", "NACKs from the subscriber", labels=_CONSUMER
        )
        c_plis = CounterMetricFamily(
            "mixillo_media_consumer_plis", "PLIs/FIRs from the subscriber", labels=_CONSUMER
        )
        c_rtt = GaugeMetricFamily(
            "mixillo_media_consumer_rtt_seconds", "Round-trip time (RFC 3550)", labels=_CONSUMER
        )
        roles = {"publish": 0, "subscribe": 0}
        for peer in self._engine.sessions():
            roles[peer.role.value] += 1
            for p in peer.producers.values():
                s = p.stats()
                labels = [p.stream_id, p.publisher, p.kind]
                p_packets.add_metric(labels, s["packets"])
                p_bytes.add_metric(labels, s["bytes"])
                p_rate.add_metric(labels, s["bitrate_bps"])
                p_lost.add_metric(labels, s["packets_lost"])
                p_nacks.add_metric(labels, s["nacks_sent"])
                p_plis.add_metric(labels, s["plis_sent"])
            for c in peer.consumers.values():
                s = c.stats()
                labels = [c.stream_id, c.publisher, c.kind, c.session_id]
                c_packets.add_metric(labels, s["packets"])
                c_bytes.add_metric(labels, s["bytes"])
                c_rate.add_metric(labels, s["bitrate_bps"])
                c_lost.add_metric(labels, s["packets_lost"])
                c_nacks.add_metric(labels, s["nacks_received"])
                c_plis.add_metric(labels, s["plis_received"])
                if s["rtt_s"] is not None:
                    c_rtt.add_metric(labels, s["rtt_s"])
        for role, count in roles.items():
            sessions.add_metric([role], count)
        routers.add_metric([], len(self._engine.routers))
        yield from (sessions, routers, p_packets, p_bytes, p_rate, p_lost, p_nacks, p_plis,
                    c_packets, c_bytes, c_rate, c_lost, c_nacks, c_plis, c_rtt)
