"""Events and webhook endpoints: endpoint create/update/delete, event list, and emitting an event."""
from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlsplit

from blastpay.emulator.common import API_VERSION, MAX_WEBHOOK_ENDPOINTS, _fresh_metadata, _merge_metadata
from blastpay.emulator.errors import invalid
from blastpay.emulator.params import UNSET
from blastpay.emulator.shapes import shaped
from blastpay.emulator.store import Index


class Events:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    # -- events and webhook endpoints ------------------------------------------------------
    def create_webhook_endpoint(self, p: dict[str, Any]) -> dict[str, Any]:
        if len(self.stores["webhook_endpoint"]) >= MAX_WEBHOOK_ENDPOINTS:
            raise invalid(f"You have reached the maximum of {MAX_WEBHOOK_ENDPOINTS} test webhook endpoints.", param="url")
        self._check_endpoint_url(p["url"])
        endpoint = shaped(
            "webhook_endpoint",
            id=self.ids.new("we"),
            api_version=p.get("api_version"),
            created=self.now(),
            description=p.get("description"),
            enabled_events=p["enabled_events"],
            metadata=_fresh_metadata(p.get("metadata")),
            url=p["url"],
        )
        secret = "whsec_" + self.ids.token(32)
        self.stores["webhook_endpoint"].add(self._next_seq(), endpoint)
        self.endpoint_secrets[endpoint["id"]] = secret
        return dict(endpoint, secret=secret)

    def _check_endpoint_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(f"Invalid URL: {url[:200]}. URLs must be absolute http or https URLs.", param="url")
        if self.restrict_webhook_hosts:  # served: the emulator's own safety rule (webhooks.WebhookHosts)
            refusal = self.webhook_hosts.refusal(url)
            if refusal is not None:
                raise invalid(f"Invalid URL: {refusal}.", param="url", code="url_invalid")

    def update_webhook_endpoint(self, endpoint_id: str, p: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._require("webhook_endpoint", endpoint_id)
        if "url" in p:
            self._check_endpoint_url(p["url"])
            endpoint["url"] = p["url"]
        if "enabled_events" in p:
            endpoint["enabled_events"] = p["enabled_events"]
        if "disabled" in p:
            endpoint["status"] = "disabled" if p["disabled"] else "enabled"
        if "description" in p:
            endpoint["description"] = None if p["description"] is UNSET else p["description"]
        if "metadata" in p:
            endpoint["metadata"] = _merge_metadata(endpoint["metadata"], p["metadata"])
        return endpoint

    def delete_webhook_endpoint(self, endpoint_id: str) -> dict[str, Any]:
        self._require("webhook_endpoint", endpoint_id)
        self.stores["webhook_endpoint"].delete(endpoint_id)
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    def list_events(self, p: dict[str, Any]) -> dict[str, Any]:
        index = None
        if "type" in p:
            index = self.events_by_type.get(p["type"], Index())
        return self.list_page("event", index, p, "/v1/events")

    def _emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        endpoints = [
            e for e in self.stores["webhook_endpoint"].objects.values()
            if e["status"] == "enabled" and ("*" in e["enabled_events"] or event_type in e["enabled_events"])
        ]
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": self.ids.new("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        seq = self._next_seq()
        self.stores["event"].add(seq, event)
        self.events_by_type.setdefault(event_type, Index()).add(seq, event["id"])
        self.event_bodies[event["id"]] = json.dumps(event).encode()
        self._enqueue(event, endpoints)
        return event
