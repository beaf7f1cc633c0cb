"""Per-file result cache, keyed by (content hash, settings hash).

``data/cache/<namespace>/<k[:2]>/<k>.json`` holds one small JSON result per key, written
atomically, so a killed run keeps every entry it finished and a re-run with nothing changed
does no audio work. Keys come from :func:`key`: the content hash of the input file plus
everything that changes the result (settings, schema and code versions).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .fsutil import atomic_write_json


def key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    def __init__(self, root: str | Path, namespace: str):
        self.folder = Path(root) / namespace

    def _path(self, k: str) -> Path:
        return self.folder / k[:2] / f"{k}.json"

    def get(self, k: str) -> Any | None:
        try:
            return json.loads(self._path(k).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, k: str, value: Any) -> None:
        # not fsynced: an entry a crash truncates reads as a miss (see get)
        atomic_write_json(self._path(k), value, durable=False)
