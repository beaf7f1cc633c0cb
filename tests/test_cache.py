"""The result journals (:mod:`ngn_clarity.cache`): round trips, damage read as a miss,
compaction."""

from __future__ import annotations

import pytest

from ngn_clarity import cache as cache_mod
from ngn_clarity.cache import Cache, key


def _put(root, items):
    with Cache(root, "ns") as c:
        for k, v in items.items():
            c.put(k, v)


def test_values_round_trip_across_processes_worth_of_reopening(tmp_path):
    items = {key("a", i): {"vector": [i / 3, -1e-300, 1e300], "replaced": i} for i in range(5)}
    _put(tmp_path, items)
    c = Cache(tmp_path, "ns")
    assert len(c) == 5
    for k, v in items.items():
        assert c.get(k) == v
    assert c.get(key("never")) is None
    assert Cache(tmp_path / "nothing-here", "ns").get(key("a", 0)) is None


def test_a_later_line_of_a_key_wins_and_a_value_put_after_reading_is_found(tmp_path):
    k = key("x")
    _put(tmp_path, {k: 1})
    with Cache(tmp_path, "ns") as c:
        assert c.get(k) == 1
        c.put(k, 2)
        assert c.get(k) == 2
        c.put(key("y"), [3])
        assert c.get(key("y")) == [3]
    assert Cache(tmp_path, "ns").get(k) == 2


def test_nan_is_refused_and_writes_nothing(tmp_path):
    with Cache(tmp_path, "ns") as c, pytest.raises(ValueError):
        c.put(key("nan"), [float("nan")])
    assert not (tmp_path / "ns.jsonl").exists() or (tmp_path / "ns.jsonl").read_bytes() == b""


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_line_reads_as_a_miss_and_the_others_survive(tmp_path, damage):
    ks = [key(i) for i in range(3)]
    _put(tmp_path, {k: {"v": i} for i, k in enumerate(ks)})
    path = tmp_path / "ns.jsonl"
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    if damage == "truncate":  # a kill in the middle of the last write
        path.write_bytes(data[:-7])
        lost = ks[2]
    elif damage == "flip":  # one digit of the middle value changed on disk
        bad = lines[1].replace(b'{"v":1}', b'{"v":7}')
        assert bad != lines[1]
        path.write_bytes(lines[0] + bad + lines[2])
        lost = ks[1]
    else:  # a crash left zeros where a line was
        path.write_bytes(lines[0] + b"\0" * 40 + b"\n" + lines[2])
        lost = ks[1]
    c = Cache(tmp_path, "ns")
    assert c.get(lost) is None
    for i, k in enumerate(ks):
        if k != lost:
            assert c.get(k) == {"v": i}
    # appending after a cut-short line starts a line of its own: the new value reads back
    with Cache(tmp_path, "ns") as c:
        c.put(lost, {"v": "again"})
    assert Cache(tmp_path, "ns").get(lost) == {"v": "again"}


def test_a_journal_mostly_repeats_is_compacted_by_the_next_writer(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "COMPACT_MIN_WASTE", 9)
    ks = [key(i) for i in range(3)]
    for round_ in range(4):  # three forced re-runs: 12 lines, 3 keys
        _put(tmp_path, {k: {"round": round_} for k in ks})
    path = tmp_path / "ns.jsonl"
    assert path.read_bytes().count(b"\n") == 12
    with Cache(tmp_path, "ns") as c:
        c.put(key("new"), 1)  # 9 waste >= 9 and >= 3 keys: compacted first
    assert path.read_bytes().count(b"\n") == 4
    c = Cache(tmp_path, "ns")
    assert [c.get(k) for k in ks] == [{"round": 3}] * 3
    assert c.get(key("new")) == 1
    assert list(tmp_path.glob("*.part")) == []


def test_the_first_writer_removes_an_older_releases_folder_of_one_file_a_result(tmp_path):
    old = tmp_path / "ns" / "ab" / ("ab" + "0" * 62 + ".json")
    old.parent.mkdir(parents=True)
    old.write_text('{"vector": [1]}')
    other = tmp_path / "ns-other" / "keep.json"
    other.parent.mkdir()
    other.write_text("{}")
    assert Cache(tmp_path, "ns").get(key("a")) is None  # a reader leaves it
    assert old.exists()
    with Cache(tmp_path, "ns") as c:
        c.put(key("a"), 1)
    assert not (tmp_path / "ns").exists()
    assert other.read_text() == "{}"


def test_a_journal_opened_to_append_lets_its_index_go_and_still_reads_back(tmp_path):
    _put(tmp_path, {key("a"): 1})
    with Cache(tmp_path, "ns") as c:
        assert c.get(key("a")) == 1
        c.open_to_append()
        assert c._index is None
        c.put(key("b"), 2)
        assert c._index is None  # nothing is indexed while only appending
        assert (c.get(key("a")), c.get(key("b"))) == (1, 2)  # indexed again when asked



def test_a_journal_that_cannot_be_written_says_which_file_in_one_line(tmp_path):
    from ngn_clarity.errors import OutputError

    (tmp_path / "ns.jsonl").mkdir()  # in the way: not a file
    with Cache(tmp_path, "ns") as c, pytest.raises(OutputError) as e:
        c.put(key("a"), 1)
    assert e.value.reason.startswith(f"cannot write {tmp_path / 'ns.jsonl'}: ")
    assert "\n" not in e.value.reason
