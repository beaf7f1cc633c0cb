"""``clarity report``: one self-contained HTML page that shows the dataset and the model.

``<data>/reports/report.html`` (also written at the end of ``clarity run`` and
``clarity train``; skipped when none of its inputs changed) is a single file: images are
embedded as ``data:`` URIs, styles inline, no network fetch, so it opens from disk in any
browser. It shows:

* **dataset**: clips per subset, instrument and flaw against the seed's targets; durations,
  sample rates and channels; every clip left out, with its reason; loudness before and
  after normalization; clips whose gain was limited;
* **features**: per instrument, the gold clips' long-term spectrum (median and 10-90 %
  band) with each flaw's median over it; the effect size (Cohen's d) of every feature,
  gold against **each** flaw of each instrument; a PCA of the fingerprints; the features
  that separate nothing;
* **model** (when trained): cross-validated accuracy (mean +- sd, grouped and leave-source-
  out), a row-normalised confusion matrix, per-class precision and recall, recall by
  severity, correction error per component, ONNX latency, and a few clips per class with
  what the model said.

A small inline script writes ``data-images="<decoded>/<total>"`` on ``<body>`` once the page
has loaded, so a headless browser can check every image decodes.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, settings, taxonomy
from ..features.tables import load_training_table, table_columns
from ..fsutil import atomic_write_text
from ..layout import Layout
from ..errors import ClarityError
from ..model import artifacts
from ..model.bench import GOAL_P99_MS, SEED_P99_MS, BenchSettings, measure
from ..model.evaluate import design_matrix
from ..model.predict import OnnxModels
from . import figures
from . import fix as fix_section
from . import reference
from .analyze import cohens_d

INPUTS = ("manifest.json", "features/feature_metadata.json", "features/normalization_log.json",
          "models/metrics.json", "models/onnx_bench.json", "models/model_card.json",
          "models/reference.json", fix_section.INPUT)
#: |Cohen's d| under this for every flaw: the feature separates nothing.
USELESS_D = 0.2


def _read_json(path: Path, hook: Any = None) -> Any:
    """The JSON at ``path`` (None when missing or not JSON); ``hook``: ``json.loads``'s
    ``object_hook``, to keep only what a section reads of a 20,000-entry file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_hook=hook)
    except (OSError, ValueError):
        return None


def _shown(data: Any) -> Any:
    """What of an input the page depends on: not its time stamp, nor the log's split of this
    run's files into "normalized" and "up to date", so a re-run that changed nothing does not
    rebuild the page (the page shows only their sum)."""
    if not isinstance(data, dict):
        return data
    data = {k: v for k, v in data.items() if k not in ("created", "updated")}
    if isinstance(data.get("totals"), dict):
        t = dict(data["totals"])
        t["normalized"] = t.get("normalized", 0) + t.pop("up_to_date", 0)
        data["totals"] = t
    if isinstance(data.get("files"), list):
        data["files"] = [_shown_file(f) for f in data["files"]]
    return data


def _shown_file(f: Any) -> Any:
    """One entry of a ``files`` list as the page depends on it (see :func:`_shown`)."""
    return {**f, "status": "normalized"} if isinstance(f, dict) and \
        f.get("status") == "up_to_date" else f


def _digest(layout: Layout) -> str:
    """SHA-256 of what the page shows of its inputs (:func:`_shown`). A list of files is
    hashed an entry at a time: at 20,000 clips the whole log as one string, beside its
    parsed copy and the shown copy, was the largest allocation of a run."""
    h = hashlib.sha256(__version__.encode())
    h.update(json.dumps(artifacts.problems(layout)).encode())
    for rel in INPUTS:
        h.update(rel.encode())
        data = _read_json(layout.root / rel, _file_digest)
        if data is not None:
            h.update(json.dumps(_shown(data), sort_keys=True).encode())
    return h.hexdigest()


def _file_digest(d: dict[str, Any]) -> Any:
    """``object_hook`` of :func:`_digest`: an entry about one file (it has a ``source`` or
    ``path``) becomes the SHA-1 of what the page shows of it (:func:`_shown_file`), as it
    is parsed: the 20,000 entries of a log are never all objects at once."""
    if "source" in d or "path" in d:
        shown = json.dumps(_shown_file(d), sort_keys=True)
        return "#" + hashlib.sha1(shown.encode()).hexdigest()
    return d


def _e(v: Any) -> str:
    return html.escape(str(v))


def _table(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _fmt(v: Any, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


# --- dataset ---------------------------------------------------------------------------------

def _dataset(layout: Layout) -> str:
    m = _read_json(layout.manifest)
    if m is None:
        return "<p>No manifest yet: run <code>clarity run</code>.</p>"
    rows = []
    for inst in taxonomy.INSTRUMENTS:
        flaws = m["counts"]["flawed"][inst]
        rows.append([inst, m["counts"]["gold"][inst], settings.GOLD_PER_INSTRUMENT,
                     sum(flaws.values()), settings.FLAWED_PER_INSTRUMENT,
                     ", ".join(f"{f} {n}" for f, n in flaws.items())])
    out = ["<h3>Clips against the seed's targets</h3>",
           _table(["instrument", "gold", "target", "flawed", "target", "per flaw"], rows)]
    durs = [[inst, f"{m['durations_s']['gold'][inst]:.0f}",
             f"{m['durations_s']['flawed'][inst]:.0f}"] for inst in taxonomy.INSTRUMENTS]
    out += ["<h3>Durations, rates, channels</h3>",
            _table(["instrument", "gold seconds", "flawed seconds"], durs),
            f"<p>Sample rates: {_e(_counted(m['sample_rates'], ' Hz'))}; channels: "
            f"{_e(_counted(m['channels'], ' channel(s)', _CHANNELS))}; total "
            f"{m['summary']['total_duration_s']:.0f} s.</p>"]
    return "\n".join(out + _left_out(layout, m) + _loudness(layout))


_CHANNELS = {"1": "mono", "2": "stereo"}


def _counted(counts: dict[str, int], unit: str, names: dict[str, str] | None = None) -> str:
    """``{"44100": 600, "48000": 400}`` as "44100 Hz (600 clips), 48000 Hz (400 clips)"."""
    def label(key: str) -> str:
        return (names or {}).get(str(key), f"{key}{unit}")

    return ", ".join(f"{label(k)} ({n} clip{'s' if n != 1 else ''})"
                     for k, n in counts.items()) or "none"


def _left_out(layout: Layout, m: dict[str, Any]) -> list[str]:
    """Every clip the manifest, the checks or the tables left out, with its reason."""
    left_out = [[r["path"], r["reason"]] for r in m.get("refused", [])]
    left_out += [[r["path"], r["reason"]] for r in m.get("problems", [])]
    meta = _read_json(layout.features / "feature_metadata.json") or {}
    seen = {p for p, _ in left_out}
    left_out += [[Path(f["file"]).as_posix(), f["reason"]] for f in meta.get("failures", [])
                 if f["file"] not in seen and not any(f["file"].endswith(p) for p in seen)]
    out = [f"<h3>Left out ({len(left_out)})</h3>",
           _table(["file", "reason"], left_out[:200]) if left_out
           else "<p>Nothing was left out.</p>"]
    if len(left_out) > 200:
        out.append(f"<p>... and {len(left_out) - 200} more (manifest.json).</p>")
    return out


def _loudness(layout: Layout) -> list[str]:
    def lufs(d: dict[str, Any]) -> Any:  # what the histograms read of each entry
        if "integrated_lufs" in d:
            return d["integrated_lufs"]
        return (d.get("before"), d.get("after")) if "source" in d else d

    log = _read_json(layout.normalization_log, lufs)
    if not log:
        return []
    before = [b for b, _ in log["files"] if b is not None]
    after = [a for _, a in log["files"] if a is not None]
    t = log["totals"]
    return ["<h3>Loudness</h3>",
            _img(figures.data_uri(figures.loudness_histograms(before, after)),
                 "loudness histograms"),
            f"<p>{t['normalized'] + t['up_to_date']} normalized to "
            f"{log['settings']['target_lufs']} LUFS ({log['settings']['subtype']}), "
            f"{t['gain_limited']} gain-limited, {t['short_clips']} under 0.4 s, "
            f"{t['failed']} failed, {t.get('refused', 0)} refused; gain "
            f"{_fmt(t['gain_db_min'], 1)} to {_fmt(t['gain_db_max'], 1)} dB.</p>"]


# --- features --------------------------------------------------------------------------------

def effect_sizes(df, names: list[str]) -> tuple[list[str], np.ndarray]:
    """(columns "instrument/flaw", [features, columns] Cohen's d gold vs that flaw)."""
    cols, values = [], []
    for inst in taxonomy.INSTRUMENTS:
        part = df[df["instrument"] == inst]
        gold = part[part["flawed_type"] == taxonomy.NO_FLAW]
        for flaw in taxonomy.flaws_for(inst):
            bad = part[part["flawed_type"] == flaw]
            if len(bad) < 2 or len(gold) < 2:
                continue
            cols.append(f"{inst}/{flaw}")
            values.append([cohens_d(gold[n].to_numpy(float), bad[n].to_numpy(float))
                           for n in names])
    return cols, np.array(values).T if values else np.zeros((len(names), 0))


def _spectra(layout: Layout) -> list[str]:
    import pandas as pd

    path = layout.features / "spectra.parquet"
    if not path.is_file():
        return []
    df = pd.read_parquet(path)
    cols = [c for c in df.columns if c.startswith("ltas_")]
    f = np.array([float(c[5:]) for c in cols])
    out = []
    for inst in taxonomy.INSTRUMENTS:
        fig = figures.spectra(df[df["instrument"] == inst], cols, f, inst)
        if fig is not None:
            out.append(_img(figures.data_uri(fig), f"{inst} spectra"))
    return out


def _features(layout: Layout) -> str:
    try:
        # the fingerprint and the two labels the figures group by (not the labels' text)
        fingerprint = table_columns(layout)[3:67]
        df = load_training_table(layout.root, columns=["instrument", *fingerprint,
                                                       "flawed_type"])
    except Exception as e:  # noqa: BLE001 - the page says why instead of failing
        return f"<p>No feature tables: {_e(getattr(e, 'reason', e))}</p>"
    if df.empty:
        return "<p>The tables hold no clips yet.</p>"
    meta = _read_json(layout.features / "feature_metadata.json") or {}
    names = [n for n in fingerprint if not n.startswith("reserved_")]
    out = [f"<p>{len(df)} clips, schema <code>{_e(meta.get('schema'))}</code> (version "
           f"{_e(meta.get('schema_version'))}), {len(names)} named features.</p>"]
    out += ["<h3>Long-term spectra</h3>", *_spectra(layout)]
    cols, d = effect_sizes(df, names)
    if cols:
        out += ["<h3>Effect sizes, gold against each flaw</h3>",
                _img(figures.data_uri(figures.effect_sizes(cols, names, d)), "effect sizes")]
        useless = [n for n, row in zip(names, d) if np.all(np.abs(row) < USELESS_D)]
        out.append(f"<p>Features that separate gold from no flaw (|d| < {USELESS_D} for all "
                   f"{len(cols)}): {', '.join(useless) if useless else 'none'}.</p>")
    constant = [n for n in names if df[n].nunique() <= 1]
    if constant:
        out.append(f"<p>Constant features: {', '.join(constant)}.</p>")
    fig = figures.pca_by_flaw_and_instrument(df, names)
    if fig is not None:
        out += ["<h3>PCA</h3>", _img(figures.data_uri(fig), "PCA")]
    return "\n".join(out)


# --- model -----------------------------------------------------------------------------------

def _model(layout: Layout) -> str:
    damaged = artifacts.problems(layout)
    if damaged:
        return "".join(f"<p><b>{_e(line)}</b></p>" for line in damaged)
    metrics = _read_json(layout.models / "metrics.json")
    if metrics is None:
        return "<p>No trained model: run <code>clarity train</code>.</p>"
    try:
        return _model_body(layout, metrics)
    except (KeyError, TypeError, ValueError, AttributeError):
        why = f"{layout.models / 'metrics.json'} is damaged or from another version (run " \
              f"`clarity train`)"
        return f"<p><b>{_e(why)}</b></p>"


def _model_body(layout: Layout, metrics: dict[str, Any]) -> str:
    cv, lo = metrics["cv"], metrics.get("leave_source_out")
    out = [f"<p>Trained on {metrics['rows']} clips ({metrics['groups']} groups), schema "
           f"<code>{_e(metrics['schema'])}</code> v{metrics['schema_version']}, classifier "
           f"<code>{_e(metrics['kept'])}</code>, {metrics['rows_with_correction']} clips with a "
           f"known correction.</p>"]
    rows = [[k, f"{v['accuracy_mean']:.3f} +- {v['accuracy_std']:.3f}",
             _fmt(v["gold_vs_flawed_accuracy"]), _fmt(v.get("balanced_gold_vs_flawed")),
             _fmt(v["gold_recall"])] for k, v in metrics["cv_by_model"].items()]
    rows.append([f"{metrics['kept']}, with the none thresholds", f"{cv['accuracy']:.3f}",
                 _fmt(cv["gold_vs_flawed_accuracy"]), _fmt(cv.get("balanced_gold_vs_flawed")),
                 _fmt(cv["gold_recall"])])
    for name, m in (("leave-source-out", lo),
                    ("leave-source-out, calibrated", metrics.get("leave_source_out_calibrated"))):
        if m:
            rows.append([f"{metrics['kept']}, {name}", f"{m['accuracy']:.3f} ({m['folds']} "
                         f"folds)", _fmt(m["gold_vs_flawed_accuracy"]),
                         _fmt(m.get("balanced_gold_vs_flawed")), _fmt(m["gold_recall"])])
    out += [f"<h3>Cross-validation ({cv['folds']}-fold, grouped)</h3>",
            _table(["model", "accuracy", "gold vs flawed", "balanced", "gold recall"], rows)]
    out += [f"<p class=\"warning\">Warning: {_e(w)}</p>" for w in metrics.get("warnings", ())]
    cal = cv.get("calibration", {})
    out.append(f"<p>Calibration: temperature {_e(cal.get('temperature'))}, expected "
               f"calibration error {_e(cal.get('ece_before'))} before, {_e(cal.get('ece_after'))} "
               f"after.</p>")
    out.append(_img(figures.data_uri(figures.confusion(
        cv["confusion"]["labels"], cv["confusion"]["matrix"], cv["accuracy"],
        f"{metrics['schema']} schema, {metrics['kept']}")), "confusion matrix"))
    classes = list(cv["recall"])
    out += ["<h3>Per class</h3>", _table(
        ["class", "precision", "recall", "clips"] + (["recall, unseen sources"] if lo else []),
        [[c, _fmt(cv["precision"][c]), _fmt(cv["recall"][c]), cv["support"][c]]
         + ([_fmt(lo["recall"].get(c))] if lo else []) for c in classes])]
    out += ["<h3>Recall of flawed clips by severity</h3>",
            _table(["low", "mid", "high"], [[_fmt(cv["recall_by_severity"][k])
                                             for k in ("low", "mid", "high")]])]
    if cv.get("mae_flawed"):
        out += [f"<h3>Correction error on flawed clips (EQ mean {_fmt(cv['eq_mae_flawed_db'], 2)}"
                f" dB)</h3>", _table(["component", "mean absolute error"],
                                    [[k, _fmt(v, 3)] for k, v in cv["mae_flawed"].items()])]
    out += _latency(layout)
    out.append(_examples(layout))
    return "\n".join(out)


#: The short bench the page runs when ``bench-onnx`` has not (about half a second).
QUICK_BENCH = BenchSettings(calls=500, batch=256, warmup=50)


def _latency(layout: Layout) -> list[str]:
    """ONNX latency: ``bench-onnx``'s figures when it ran, else a short bench run now."""
    bench, said = _read_json(layout.models / "onnx_bench.json"), "from <code>clarity " \
        "bench-onnx</code>"
    if not bench:
        try:
            models = OnnxModels(layout)
            x = design_matrix(load_training_table(layout.root), models.feature_names)
            bench = measure(models, x, QUICK_BENCH).to_dict()
        except (ClarityError, KeyError, ValueError) as e:
            why = getattr(e, "reason", None) or f"the tables do not hold the model's " \
                                                 f"features ({e})"
            return [f"<p>ONNX latency: not measured ({_e(why)}); run <code>clarity "
                    f"bench-onnx</code>.</p>"]
        said = (f"a short bench run for this page ({QUICK_BENCH.calls} calls); "
                f"<code>clarity bench-onnx</code> measures {BenchSettings().calls:,} and "
                f"keeps them")
    rows = [[k, bench[k]["p50_ms"], bench[k]["p99_ms"], bench[k].get("p999_ms", "")]
            for k in ("classifier", "regressor", "both") if k in bench]
    return ["<h3>ONNX latency (one row, one thread)</h3>",
            _table(["model", "p50 ms", "p99 ms", "p99.9 ms"], rows),
            f"<p>{said}; batch of {bench['batch']}: {bench['batch_rows_per_s']:,.0f} rows/s; "
            f"goal p99 &lt; {GOAL_P99_MS:g} ms (seed: &lt; {SEED_P99_MS:g} ms).</p>"]


def _examples(layout: Layout, per_class: int = 3) -> str:
    import pandas as pd

    path = layout.models / "cv_predictions.csv"
    if not path.is_file():
        return ""
    df = pd.read_csv(path)
    rows = []
    for cls, part in df.groupby("flawed_type", sort=True):
        for r in part.sample(min(per_class, len(part)), random_state=0).itertuples():
            rows.append([cls, f"{r.subset}/{r.instrument}/{r.file}", r.predicted,
                         f"{r.confidence:.2f}", f"{r.second} {r.second_confidence:.2f}"])
    return ("<h3>Examples (out-of-fold: the model never saw the clip's group)</h3>"
            + _table(["true", "clip", "predicted", "confidence", "runner-up"], rows))


# --- page ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{border-bottom:2px solid #ddd;margin-top:2em} h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:left} th{background:#f3f3f3}
img{max-width:100%;display:block;margin:.6em 0} code{background:#f3f3f3;padding:0 3px}
"""
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
});
"""


def build(layout: Layout, digest: str | None = None) -> str:
    """The page as a string (``digest``: :func:`_digest` of its inputs, when known)."""
    digest = digest or _digest(layout)  # first: its inputs parsed before the figures
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    parts = [("Dataset", _dataset(layout)), ("Features", _features(layout)),
             ("Model", _model(layout)), ("Reference", reference.section(layout)),
             ("Fix", fix_section.section(layout))]
    body = "\n".join(f'<h2 id="{t.lower()}">{t}</h2>\n{c}' for t, c in parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="clarity-inputs" content="{digest}">'
            f"<title>NGN Clarity report: {_e(layout.root)}</title><style>{_STYLE}</style>"
            f"</head><body><h1>NGN Clarity report</h1><p>Data folder <code>{_e(layout.root)}"
            f"</code>, ngn-clarity {__version__}, {created}.</p>\n{body}\n"
            f"<script>{_SCRIPT}</script></body></html>\n")


def write_report(layout: Layout, out: str | Path | None = None,
                 force: bool = False) -> tuple[Path, bool]:
    """Write the report (default ``reports/report.html``); returns (path, written). Not
    rewritten when its inputs are the ones it was made from, unless ``force``. A damaged
    model set (:func:`~ngn_clarity.model.artifacts.problems`) is named on the page in
    place of the model section."""
    dest = Path(out) if out else layout.report_html
    layout.require()
    with layout.lock():
        digest = _digest(layout)
        if not force and dest.is_file():
            head = dest.read_text(encoding="utf-8", errors="replace")[:400]
            if f'content="{digest}"' in head:
                return dest, False
        atomic_write_text(dest, build(layout, digest))
    return dest, True
