"""Typed keys of the storage app's state (one place, so handlers and tests agree)."""

from __future__ import annotations

from aiohttp import web

from serving.purge_notify import PurgeNotifier
from storage.metrics import StorageMetrics
from storage.settings import StorageSettings
from storage.store import Store

__all__ = ["METRICS", "NOTIFIER", "SETTINGS", "STORE", "VERIFIER"]

SETTINGS = web.AppKey("storage_settings", StorageSettings)
STORE = web.AppKey("storage_store", Store)
VERIFIER = web.AppKey("storage_verifier", object)  # storage.auth.StorageAuth (lazy: botocore)
NOTIFIER = web.AppKey("storage_notifier", PurgeNotifier)
METRICS = web.AppKey("storage_metrics", StorageMetrics)
