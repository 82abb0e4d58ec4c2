"""Speaker-independent splits: coverage, disjointness, determinism and refusals."""

import json
import pathlib

import pandas as pd
import pytest

from tfser import annotations
from tfser.annotations import splits


def _utts(num_sessions=5, per_speaker=(3, 4), extra_rows=()):
    """Two speakers (F, M) per session; speaker i has per_speaker[i % 2] utterances."""
    rows = []
    for s in range(1, num_sessions + 1):
        for j, gender in enumerate(("F", "M")):
            speaker = f"toy:Ses{s:02d}{gender}"
            for u in range(per_speaker[j]):
                rows.append({"utt_id": f"Ses{s:02d}{gender}_{u:02d}", "speaker_id": speaker,
                             "session_id": f"Ses{s:02d}",
                             "gender": "female" if gender == "F" else "male",
                             "official_split": None, "extra": {"sentence": f"a{u % 2}"}})
    rows.extend(extra_rows)
    return pd.DataFrame(rows)


def _speaker_sets(fold):
    return [set(fold.speakers(p)) for p in splits.PARTS]


def test_loso_ten_speakers_gives_ten_8_1_1_folds():
    utts = _utts()
    protocol = splits.leave_one_speaker_out(utts)
    assert protocol.protocol == "loso" and len(protocol) == 10
    speakers = sorted(utts["speaker_id"].unique())
    assert [f.test_speakers for f in protocol] == [(s,) for s in speakers]
    for i, fold in enumerate(protocol):
        train, dev, test = _speaker_sets(fold)
        assert (len(train), len(dev), len(test)) == (8, 1, 1)
        assert not (train & dev or train & test or dev & test)
        # Default policy: the next speaker in cyclic sorted order.
        assert fold.dev_speakers == (speakers[(i + 1) % 10],)
        assert sorted(fold.train + fold.dev + fold.test) == sorted(utts["utt_id"])
        splits.check_no_speaker_leak(fold, utts)


def test_loso_dev_policies():
    utts = _utts()
    partner = splits.leave_one_speaker_out(utts, dev_policy="session_partner")
    for fold in partner:
        test, dev = fold.test_speakers[0], fold.dev_speakers[0]
        assert test[:-1] == dev[:-1] and test != dev  # same session, other speaker
    gender = splits.leave_one_speaker_out(utts, dev_policy="same_gender")
    for fold in gender:
        assert fold.test_speakers[0][-1] == fold.dev_speakers[0][-1]
    first = splits.leave_one_speaker_out(utts, dev_policy="random", seed=3)
    again = splits.leave_one_speaker_out(utts, dev_policy="random", seed=3)
    assert first == again
    for fold in first:
        assert fold.dev_speakers[0] != fold.test_speakers[0]
    none = splits.leave_one_speaker_out(utts, dev_policy="none")
    assert all(len(f.train_speakers) == 9 and f.dev == () for f in none)
    with pytest.raises(ValueError, match="dev_policy"):
        splits.leave_one_speaker_out(utts, dev_policy="closest")


def test_loso_accepts_a_table_and_needs_enough_speakers():
    meta = annotations.TableMeta(corpus="toy", categories=["sad"])
    utt_records = [annotations.Utterance(f"u{i}", "toy", f"u{i}.wav", 1.0, f"toy:S{i % 3}")
                   for i in range(6)]
    table = annotations.build_table(meta, utt_records)
    protocol = splits.leave_one_speaker_out(table)
    assert len(protocol) == 3
    with pytest.raises(ValueError, match="at least 3 speakers"):
        splits.leave_one_speaker_out(table.utterances.iloc[:2])


def test_leave_one_session_out():
    utts = _utts()
    protocol = splits.leave_one_session_out(utts)
    assert len(protocol) == 5
    for i, fold in enumerate(protocol):
        session = f"Ses{i + 1:02d}"
        nxt = f"Ses{(i + 1) % 5 + 1:02d}"
        assert fold.test_speakers == (f"toy:{session}F", f"toy:{session}M")
        assert fold.dev_speakers == (f"toy:{nxt}F", f"toy:{nxt}M")
        assert len(fold.train_speakers) == 6
        assert set(utts.set_index("utt_id").loc[list(fold.test), "session_id"]) == {session}
    one = splits.leave_one_session_out(utts, dev="next_session_speaker")
    assert [len(f.dev_speakers) for f in one] == [1] * 5
    assert one[0].dev_speakers == ("toy:Ses02F",) and len(one[0].train_speakers) == 7
    drawn = splits.leave_one_session_out(utts, dev="random_speaker", seed=1)
    assert drawn == splits.leave_one_session_out(utts, dev="random_speaker", seed=1)
    for fold in drawn:
        assert not set(fold.dev_speakers) & set(fold.test_speakers)


def test_session_split_refuses_speaker_in_two_sessions_and_missing_sessions():
    utts = _utts()
    moved = utts.copy()
    moved.loc[0, "session_id"] = "Ses02"
    with pytest.raises(splits.SpeakerLeakError, match="toy:Ses01F in sessions Ses01, Ses02"):
        splits.leave_one_session_out(moved)
    missing = utts.copy()
    missing.loc[3, "session_id"] = None
    with pytest.raises(ValueError, match="no session_id.*Ses01M_00"):
        splits.leave_one_session_out(missing)


def test_speaker_kfold_tests_every_speaker_once_and_is_seeded():
    sizes = [5, 1, 7, 2, 2, 9, 3, 4, 6, 1, 2, 8]
    rows = [{"utt_id": f"s{i}_{u}", "speaker_id": f"toy:s{i}"}
            for i, n in enumerate(sizes) for u in range(n)]
    utts = pd.DataFrame(rows)
    protocol = splits.speaker_grouped_kfold(utts, k=4, seed=7, dev_fraction=0.15)
    assert len(protocol) == 4
    tested = [s for fold in protocol for s in fold.test_speakers]
    assert sorted(tested) == sorted(utts["speaker_id"].unique())  # each exactly once
    test_sizes = [len(f.test) for f in protocol]
    assert max(test_sizes) - min(test_sizes) <= max(sizes)  # greedy balance bound
    assert sum(test_sizes) == len(utts)
    for fold in protocol:
        assert fold.dev_speakers and fold.train_speakers
        rest = len(utts) - len(fold.test)
        assert len(fold.dev) >= 0.15 * rest or len(fold.dev_speakers) == 1
        assert sorted(fold.train + fold.dev + fold.test) == sorted(utts["utt_id"])
    assert protocol == splits.speaker_grouped_kfold(utts, k=4, seed=7, dev_fraction=0.15)
    no_dev = splits.speaker_grouped_kfold(utts, k=3, seed=0, dev_fraction=0.0)
    assert all(f.dev == () for f in no_dev)
    with pytest.raises(ValueError, match="k=13"):
        splits.speaker_grouped_kfold(utts, k=13)
    with pytest.raises(ValueError, match="dev_fraction"):
        splits.speaker_grouped_kfold(utts, k=3, dev_fraction=1.0)


def test_leak_checker_catches_a_crafted_leak():
    utts = _utts()
    fold = splits.leave_one_speaker_out(utts)[0]
    stolen = fold.train[0]  # an utterance of a training speaker moved into test
    leaky = splits.Split(name="crafted", train=fold.train[1:], dev=fold.dev,
                         test=fold.test + (stolen,), train_speakers=fold.train_speakers,
                         dev_speakers=fold.dev_speakers, test_speakers=fold.test_speakers)
    speaker = utts.set_index("utt_id").loc[stolen, "speaker_id"]
    with pytest.raises(splits.SpeakerLeakError, match=f"{speaker} in train/test") as info:
        splits.check_no_speaker_leak(leaky, utts)
    assert info.value.leaks == {speaker: ("train", "test")}
    assert isinstance(info.value, ValueError)
    # Without the utterances, the recorded speaker lists are checked.
    listed = splits.Split("listed", ("a",), (), ("b",), ("s1",), (), ("s1",))
    with pytest.raises(splits.SpeakerLeakError, match="s1 in train/test"):
        splits.check_no_speaker_leak(listed)
    twice = splits.Split("twice", ("a",), ("a",), ("b",))
    with pytest.raises(splits.SpeakerLeakError, match="a in train/dev"):
        splits.check_no_speaker_leak(twice)


def test_missing_speaker_raises_with_ids():
    utts = _utts(extra_rows=[{"utt_id": "orphan1", "speaker_id": None, "session_id": "Ses01"},
                             {"utt_id": "orphan2", "speaker_id": "", "session_id": "Ses01"}])
    for build in (splits.leave_one_speaker_out, splits.leave_one_session_out,
                  lambda u: splits.speaker_grouped_kfold(u, k=3)):
        with pytest.raises(ValueError, match="2 utterance.*no speaker_id.*orphan1, orphan2"):
            build(utts)


def test_official_split():
    utts = _utts()
    parts = {"Ses01": "test", "Ses02": "dev"}
    utts["official_split"] = utts["session_id"].map(lambda s: parts.get(s, "train"))
    protocol = splits.official_split(utts)
    fold = protocol[0]
    assert fold.test_speakers == ("toy:Ses01F", "toy:Ses01M")
    assert fold.dev_speakers == ("toy:Ses02F", "toy:Ses02M")
    assert fold.sizes() == {"train": 21, "dev": 7, "test": 7}
    assert fold.speaker_independent

    leaky = utts.copy()
    leaky.loc[0, "official_split"] = "train"  # Ses01F now in train and test
    with pytest.raises(splits.SpeakerLeakError, match="toy:Ses01F in train/test"):
        splits.official_split(leaky)
    allowed = splits.official_split(leaky, allow_speaker_overlap=True)
    assert not allowed.speaker_independent and allowed.params["allow_speaker_overlap"]

    missing = utts.copy()
    missing.loc[4, "official_split"] = None
    with pytest.raises(ValueError, match="no official_split: Ses01M_01"):
        splits.official_split(missing)


def test_by_group_split_requires_acknowledgement():
    utts = _utts()
    with pytest.raises(ValueError, match="speaker_independent=False"):
        splits.by_group_split(utts, "sentence", ["a1"], speaker_independent=True)
    protocol = splits.by_group_split(utts, "sentence", ["a1"], speaker_independent=False)
    fold = protocol[0]
    assert not fold.speaker_independent and not protocol.speaker_independent
    assert set(fold.test_speakers) == set(fold.train_speakers)  # shared by design
    assert all(u.endswith(("_01", "_03")) for u in fold.test)
    with pytest.raises(ValueError, match=r"\['zz'\] do not occur"):
        splits.by_group_split(utts, "sentence", ["zz"], speaker_independent=False)


def test_protocol_json_round_trip(tmp_path):
    protocol = splits.leave_one_speaker_out(_utts(), dev_policy="random", seed=5)
    path = protocol.save(str(tmp_path / "sub" / "loso.json"))
    loaded = splits.SplitProtocol.load(path)
    assert loaded == protocol
    data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    assert data["protocol"] == "loso" and data["params"] == {"dev_policy": "random", "seed": 5}
    with pytest.raises(ValueError, match="not a tfser split protocol"):
        splits.SplitProtocol.from_dict({"protocol": "loso", "folds": []})


def test_build_split_dispatch_and_refusals():
    utts = _utts()
    assert splits.build_split(utts, "loso") == splits.leave_one_speaker_out(utts)
    assert len(splits.build_split(utts, "loso_session", dev="none")) == 5
    assert len(splits.build_split(utts, "speaker_kfold", k=5, seed=1)) == 5
    with pytest.raises(ValueError, match="utterance-random split puts the same speakers"):
        splits.build_split(utts, "random")
    with pytest.raises(ValueError, match="unknown split protocol 'holdout'"):
        splits.build_split(utts, "holdout")
    with pytest.raises(ValueError, match=r"does not take parameter\(s\) \['kk'\]"):
        splits.build_split(utts, "speaker_kfold", kk=3)
    assert not hasattr(splits, "random_split")


def test_bad_seed_is_refused():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        splits.speaker_grouped_kfold(_utts(), k=3, seed=-1)


def test_build_split_reaches_by_group_only_with_the_acknowledgement():
    utts = _utts()
    protocol = splits.build_split(utts, "by_group", group_column="sentence",
                                  test_groups=["a1"], speaker_independent=False)
    assert protocol == splits.by_group_split(utts, "sentence", ["a1"],
                                             speaker_independent=False)
    with pytest.raises(ValueError, match=r"needs parameter\(s\) \['speaker_independent'\]"):
        splits.build_split(utts, "by_group", group_column="sentence", test_groups=["a1"])
    with pytest.raises(ValueError, match="speaker_independent=False"):
        splits.build_split(utts, "by_group", group_column="sentence", test_groups=["a1"],
                           speaker_independent=True)
