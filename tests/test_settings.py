"""Every settings class declares a constraint for every field, and each declared constraint
refuses a value it should (scikit-learn's ``generate_invalid_param_val`` idea): one test
drives them all, so a new setting is checked the day it is added."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

import ngn_clarity
from ngn_clarity import settings
from ngn_clarity.errors import SettingsError

for _m in pkgutil.walk_packages(ngn_clarity.__path__, "ngn_clarity."):
    if not _m.name.endswith("__main__"):
        importlib.import_module(_m.name)


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


CLASSES = sorted(_subclasses(settings.Validated), key=lambda c: f"{c.__module__}.{c.__name__}")
FIELDS = [(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls)]


def test_the_settings_classes_are_found():
    names = {c.__name__ for c in CLASSES}
    assert {"NormalizeSettings", "RunSettings", "AugmentSettings", "SynthSettings",
            "TrainSettings", "BenchSettings", "IngestSettings"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_declares_a_constraint_and_its_default_meets_it(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.constraints) == names, cls.__name__
    cls()  # the defaults meet the constraints


def _invalid(constraint):
    """A value every alternative of ``constraint`` refuses (None is refused unless allowed)."""
    options = settings.alternatives(constraint)
    for c in options:
        if c is None:
            continue
        value = c.invalid()
        if not any(o is not None and o.accepts(value) for o in options):
            return value
    raise AssertionError(f"no value that {constraint!r} refuses")


@pytest.mark.parametrize("cls, name", FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_every_constraint_refuses_an_invalid_value(cls, name):
    value = _invalid(cls.constraints[name])
    with pytest.raises(SettingsError, match=name.replace("_", "-") + " must be"):
        cls(**{name: value})


@pytest.mark.parametrize("constraint, good, bad", [
    (settings.Interval(int, 1, 3), [1, 3], [0, 4, 1.5, True, "2"]),
    (settings.Interval(float, -70, 0, closed="neither"), [-18.0, -1], [0, -70, float("nan")]),
    (settings.Options(("a", "b")), ["a"], ["c", None]),
    (settings.Flag(), [True, False], [1, 0, "yes", None]),
    (settings.Text(), ["tcp://h:1", ""], [1, None]),
    (settings.Span(0.0, 1.0), [(0, 1), (0.2, 0.2), [0.1, 0.5]], [(0.5, 0.2), (0, 2), (0,),
                                                                  (0, float("nan"))]),
    (settings.Instance(settings.Interval), [settings.Interval(int)], [3]),
])
def test_each_constraint_type(constraint, good, bad):
    assert all(constraint.accepts(v) for v in good)
    assert not any(constraint.accepts(v) for v in bad)
    assert not constraint.accepts(constraint.invalid())


def test_the_message_names_the_range_and_the_value_as_the_user_wrote_it():
    with pytest.raises(SettingsError, match=r"severity must be LO,HI with 0 <= LO <= HI <= 1, "
                                            r"not 0.5,0.2"):
        settings.check("severity", (0.5, 0.2), settings.Span(0.0, 1.0))
    with pytest.raises(SettingsError, match=r"jobs must be None or an integer in \[1, 1024\], "
                                            r"not 0"):
        settings.check("jobs", 0, settings.JOBS_RANGE)


def test_integer_ranges_are_written_in_full():
    """``--seed -1`` said "[0, 4.29497e+09]" (issue 23)."""
    with pytest.raises(SettingsError, match=r"seed must be an integer in \[0, 4294967295\], "
                                            r"not -1$"):
        settings.check("seed", -1, settings.SEED_RANGE)
