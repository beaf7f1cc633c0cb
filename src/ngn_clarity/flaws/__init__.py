"""The flaw engine: turn a gold clip into a flawed one, and say exactly how to undo it.

One engine serves ``clarity synth`` (the embedded set) and ``clarity augment`` (any gold
library): :func:`make_flawed` draws one of the flaw's **variants** (several ways engineers
actually produce that flaw, :mod:`.variants`), builds its :class:`Chain` of **transforms**
(one small frozen dataclass each, with every drawn parameter recorded, as audiomentations
does; :mod:`.transforms`), runs it, and returns the audio, the chain and the **correction
vector** (:mod:`.correction`).

Modules: :mod:`.transforms` (the base class, equalizers and filters), :mod:`.dynamics`,
:mod:`.drive`, :mod:`.space`, :mod:`.timing` (the other stages), :mod:`.context` (what a
variant looks at), :mod:`.chain` (:class:`Chain`, callable, with its
own correction), :mod:`.variants` (what each flaw draws), :mod:`.correction` (the vector),
:mod:`.engine` (:func:`make_flawed`).

The variants of every flaw are listed in :mod:`.variants`; the correction vector's fields in
:mod:`.correction` (and :mod:`ngn_clarity.corrections`). Record JSON keeps
``params.chain`` = :meth:`Chain.to_dicts`.
"""

from .chain import Chain
from .correction import EQ_LIMIT_DB, correction, eq_response_db
from .engine import Flawed, draw_chain, make_flawed
from .context import Context, context_of, strongest_partials
from .drive import Bitcrush, Shaper
from .dynamics import (Compressor, Limiter, MultibandCompressor, PeakLimiter, RmsCompressor,
                       UpwardCompressor)
from .space import ConvolutionRoom, Room, SchroederRoom
from .timing import SliceJitter
from .transforms import (Butterworth, FirEq, Gain, HighShelf, Ladder, LowShelf, Peak,
                         Transform)
from .variants import VARIANTS

__all__ = ["EQ_LIMIT_DB", "VARIANTS", "Bitcrush", "Butterworth", "Chain", "Compressor",
           "Context", "ConvolutionRoom", "FirEq", "Flawed", "Gain", "HighShelf", "Ladder",
           "Limiter", "LowShelf", "MultibandCompressor", "Peak", "PeakLimiter", "RmsCompressor",
           "Room", "SchroederRoom", "Shaper", "SliceJitter", "Transform", "UpwardCompressor",
           "context_of", "correction", "draw_chain", "eq_response_db", "make_flawed",
           "strongest_partials"]
