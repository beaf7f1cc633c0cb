"""clarity report: one self-contained page; checked as HTML always, in Chromium when there."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from helpers import write_tone
from ngn_clarity.cli import main
from ngn_clarity.layout import Layout
from ngn_clarity.model.train import TrainSettings, train
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.report import write_report
from ngn_clarity.steps.synth import SynthSettings, synthesize


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("report") / "data")
    synthesize(layout, SynthSettings(per_instrument=12, flawed_per_instrument=24, seed=3),
               jobs=2, progress=False)
    write_tone(layout.raw / "gold/bass/bass_900.wav", seconds=0.05)  # refused: too short
    run(layout, RunSettings(jobs=2, schema="extended"), progress=False)
    train(layout, TrainSettings(cv=2, n_estimators=20, jobs=2, leave_source_out=False))
    write_report(layout, force=True)
    return layout


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_self_contained_and_every_image_is_a_png(reported):
    from PIL import Image

    text = reported.report_html.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(text)
    tags = parser.tags
    images = [a for t, a in tags if t == "img"]
    assert len(images) >= 8  # loudness, 5 spectra, effect sizes, PCA, confusion
    for t, attrs in tags:
        for key in ("src", "href"):
            if key in attrs:  # nothing outside the file: data URIs and anchors only
                assert attrs[key].startswith(("data:", "#")), (t, attrs[key][:60])
        assert not (t == "link" or (t == "script" and "src" in attrs))
    for a in images:
        head, data = a["src"].split(",", 1)
        assert head == "data:image/png;base64"
        Image.open(io.BytesIO(base64.b64decode(data))).verify()
        assert a.get("alt")


def test_the_page_shows_the_dataset_features_and_model(reported):
    text = reported.report_html.read_text(encoding="utf-8")
    for section in ('id="dataset"', 'id="features"', 'id="model"'):
        assert section in text
    assert "Clips against the seed's targets" in text and "<td>bass</td>" in text
    assert "bass_900.wav" in text and "too short" in text  # what was refused and why
    assert "Left out (1)" in text
    assert "Effect sizes, gold against each flaw" in text and "PCA" in text
    assert "<td>lgbm</td>" in text and "Calibration: temperature" in text
    assert "Recall of flawed clips by severity" in text and "<td>eq_60_db</td>" in text
    assert "Examples (out-of-fold" in text


def test_the_report_is_rewritten_only_when_its_inputs_change(reported, capsys):
    _, written = write_report(reported)
    assert not written
    # a re-run that changes nothing (only time stamps and "up to date" counts) keeps the page
    page = reported.report_html.read_bytes()
    run(reported, RunSettings(jobs=2, schema="extended"), progress=False)
    assert write_report(reported) == (reported.report_html, False)
    assert reported.report_html.read_bytes() == page
    assert main(["report", "--data-dir", str(reported.root)]) == 0
    assert "(up to date)" in capsys.readouterr().out
    out = reported.root / "elsewhere.html"
    assert main(["report", "--data-dir", str(reported.root), "--out", str(out), "-q"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium installed "
                                                "(apt-get install chromium)")
def test_the_page_loads_in_chromium_with_no_console_error_and_every_image_decoded(
        reported, tmp_path):
    res = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", reported.report_html.as_uri()],
        capture_output=True, text=True, timeout=120)
    n = reported.report_html.read_text().count("<img ")
    assert f'data-images="{n}/{n}"' in res.stdout, res.stdout[:300]
    console = [line for line in res.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console


def test_what_the_probe_found_unclear_on_the_page(reported):
    """Issue 23: sample rates printed as a Python dict, "run clarity bench-onnx" in place of
    latency figures, a confusion matrix said to sum to 1 that shows counts, spectra over
    200 dB."""
    import json

    import numpy as np
    import pandas as pd

    from ngn_clarity.report import figures

    text = reported.report_html.read_text(encoding="utf-8")
    rates = json.loads(reported.manifest.read_text())["sample_rates"]
    shown = ", ".join(f"{r} Hz ({n} clip{'s' if n != 1 else ''})" for r, n in rates.items())
    assert f"Sample rates: {shown};" in text and "{" not in text.split("Sample rates")[1][:80]
    assert "ONNX latency (one row, one thread)" in text and "<td>both</td>" in text
    assert "a short bench run for this page" in text
    fig = figures.confusion(["none", "muddy"], [[8, 2], [1, 3]], 0.79, "t")
    title = fig.axes[0].get_title()
    assert "each row sums to 1" in title and "numbers: clips" in title
    cols = [f"ltas_{f}" for f in (100, 1000, 10000)]
    rows = [[-10.0, -30.0, -190.0], [-12.0, -28.0, -200.0], [-11.0, -29.0, -195.0]]
    part = pd.DataFrame(rows, columns=cols).assign(flawed_type="none")
    lo, hi = figures.spectra(part, cols, np.array([100.0, 1000.0, 10000.0]),
                             "bass").axes[0].get_ylim()
    assert hi - lo <= figures.SPECTRUM_RANGE_DB


def test_box_stats_follow_matplotlibs_boxplot_rule():
    """The analysis plots draw boxes from numpy quartiles: the same numbers matplotlib's
    own boxplot computes (whiskers at the last value within 1.5 IQR)."""
    import numpy as np
    from matplotlib.cbook import boxplot_stats

    from ngn_clarity.report.figures import box_stats

    rng = np.random.default_rng(1)
    z = np.column_stack([rng.normal(size=200), rng.standard_t(2, size=200),
                         np.r_[rng.uniform(size=199), 40.0]])
    got = box_stats(z)
    for k, want in enumerate(boxplot_stats(z)):
        np.testing.assert_allclose(got[:, k], [want["whislo"], want["q1"], want["med"],
                                               want["q3"], want["whishi"]], rtol=1e-12)


def test_principal_components_are_the_svds_with_a_fixed_sign():
    """The PCA plot projects on the eigenvectors of z.T @ z: the SVD's right singular
    vectors up to sign, each signed so its largest loading is positive."""
    import numpy as np

    from ngn_clarity.report.figures import principal_components, standardize

    rng = np.random.default_rng(2)
    z = standardize(rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)))
    got, share = principal_components(z)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    for k in range(2):
        v = vt[k] * np.sign(vt[k][np.abs(vt[k]).argmax()])
        np.testing.assert_allclose(got[:, k], z @ v, atol=1e-10)
    np.testing.assert_allclose(share, s[:2] ** 2 / (s ** 2).sum(), rtol=1e-10)
    flipped, _ = principal_components(-z)  # the data mirrored: the projection is too
    np.testing.assert_allclose(flipped, -got, atol=1e-10)
