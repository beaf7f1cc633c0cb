"""The embedded default dataset's material: pure rendering, no file I/O.

* :mod:`.music`: random but musical note material (keys, progressions, grooves);
* :mod:`.voices`: SoundFont rendering (TinySoundFont) and procedural instruments;
* :mod:`.clips`: clip specifications and their rendering (gold, and flawed through the flaw
  engine).

The step that writes them into ``raw/`` is :mod:`ngn_clarity.steps.synth` (``clarity synth``).
"""
