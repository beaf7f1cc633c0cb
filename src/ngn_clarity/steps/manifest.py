"""``--manifest``: ``manifest.json`` with what ``raw/`` holds.

Per file: path, subset, instrument, source, flawed_type, group, duration, sample rate,
channels, format, size and SHA-256 (header facts only; ``--validate`` decodes the audio),
and for a clip the catalog refuses (:mod:`ngn_clarity.catalog`) the reason. Counts per
subset/instrument/flaw and the seed's summary numbers (gold, flawed, total, total floats =
total x 64) count the clips that are not refused. Files that cannot be read are listed
under ``problems``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from .. import audio, settings, taxonomy
from ..catalog import Catalog, scan
from ..fsutil import atomic_write_json
from ..layout import Layout
from ..outcome import Finding

MANIFEST_VERSION = 1


def build_manifest(layout: Layout, catalog: Catalog | None = None) -> dict[str, Any]:
    skipped: list[Finding] = []
    files: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for e in (catalog or scan(layout)).entries:
        clip = e.clip
        try:
            i = audio.info(clip.path)
        except audio.AudioError as err:
            skipped.append(Finding(str(clip.path), err.reason))
            continue
        row = {
            "path": e.rel_source, "subset": clip.subset, "instrument": clip.instrument,
            "source": e.source, "flawed_type": e.flawed_type, "group": e.group,
            "duration_s": round(i.duration_s, 6), "sample_rate": i.sample_rate,
            "channels": i.channels, "frames": i.frames, "format": i.format,
            "subtype": i.subtype, "bytes": clip.path.stat().st_size, "sha256": e.sha256,
        }
        if e.refusal is not None:
            refused.append({**row, "reason": e.refusal})
        else:
            files.append(row)

    counts: dict[str, Any] = {"gold": {}, "flawed": {}}
    durations: dict[str, dict[str, float]] = {"gold": {}, "flawed": {}}
    for inst in taxonomy.INSTRUMENTS:
        counts["gold"][inst] = 0
        counts["flawed"][inst] = {f: 0 for f in taxonomy.flaws_for(inst)}
        durations["gold"][inst] = durations["flawed"][inst] = 0.0
    for f in files:
        sub, inst = f["subset"], f["instrument"]
        durations[sub][inst] = round(durations[sub][inst] + f["duration_s"], 6)
        if sub == "gold":
            counts["gold"][inst] += 1
        else:
            per = counts["flawed"][inst]
            per[f["flawed_type"]] = per.get(f["flawed_type"], 0) + 1
    gold = sum(1 for f in files if f["subset"] == "gold")
    flawed = len(files) - gold
    return {
        "version": MANIFEST_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_dir": str(layout.root),
        "summary": {
            "gold": gold, "flawed": flawed, "total": len(files),
            "total_floats": len(files) * settings.FINGERPRINT_LENGTH,
            "floats_per_clip": settings.FINGERPRINT_LENGTH,
            "total_duration_s": round(sum(f["duration_s"] for f in files), 3),
            "targets": {"gold_per_instrument": settings.GOLD_PER_INSTRUMENT,
                        "flawed_per_instrument": settings.FLAWED_PER_INSTRUMENT},
        },
        "counts": counts,
        "durations_s": durations,
        "sample_rates": dict(sorted(Counter(f["sample_rate"] for f in files).items())),
        "channels": dict(sorted(Counter(f["channels"] for f in files).items())),
        "files": files,
        "refused": refused,
        "problems": [{"path": s.path, "reason": s.reason} for s in skipped],
    }


def write_manifest(layout: Layout, catalog: Catalog | None = None) -> dict[str, Any]:
    """Build the manifest and write it atomically to ``<data>/manifest.json``.

    Parameters
    ----------
    layout : Layout
        The data folder.
    catalog : Catalog, optional
        ``scan(layout)`` when the caller has it.

    Returns
    -------
    dict
        The manifest (see the module doc).
    """
    manifest = build_manifest(layout, catalog)
    atomic_write_json(layout.manifest, manifest)
    return manifest
