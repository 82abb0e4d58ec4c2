"""Generic manifest loader: CSV and Parquet, sidecars, agreement rules and rejects."""

import math
import pathlib

import pytest

from tfser.annotations import io as table_io
from tfser.corpora import load_corpus, manifest
from tfser.testing.fixtures import manifest as fixture


@pytest.fixture(name="corpus")
def _corpus(tmp_path):
    return fixture.write(str(tmp_path / "m"))


def _check_good(table, corpus):
    utts = table.utterances.set_index("utt_id")
    assert set(utts.index) == set(corpus["utterances"])
    for utt_id, want in corpus["utterances"].items():
        row = utts.loc[utt_id]
        assert row.duration_s == pytest.approx(want["duration_s"]), utt_id
        assert row.speaker_id == want["speaker_id"]
        assert row.gender == want["gender"]
        assert row.official_split == want["official_split"]
        assert (table.ratings["utt_id"] == utt_id).sum() == want["ratings"]
        assert row.extra["site"] == "lab A"


def test_csv_with_yaml_sidecar(corpus):
    result = load_corpus("manifest", corpus["root"])
    table = result.table
    assert table.meta.corpus == "mylab"
    assert table.meta.categories == ["angry", "happy", "neutral", "sad"]
    assert table.meta.dimensions == {"arousal": [1.0, 5.0], "valence": [1.0, 5.0]}
    _check_good(table, corpus)
    assert result.items_found == len(corpus["utterances"]) + len(corpus["rejects"])


def test_rejects_name_reason_and_lines(corpus):
    result = manifest.load(corpus["root"])
    reasons = {r.item: r.reason for r in result.rejects}
    assert set(reasons) == set(corpus["rejects"])
    for utt_id, expected in corpus["rejects"].items():
        assert expected in reasons[utt_id], reasons[utt_id]
    # Line numbers count the header as line 1 (BOM and CRLF do not shift them).
    assert reasons["bad_conflict"].startswith("(line 13, line 14)")
    assert "'mylab:s1' (manifest.csv, line 13); 'mylab:s9' (manifest.csv, line 14)" in \
        reasons["bad_conflict"]
    assert all(r.source == "manifest.csv" for r in result.rejects)


def test_rating_fields(corpus):
    table = manifest.load(corpus["root"]).table
    ratings = table.ratings.set_index(["utt_id", "rater_id", "condition"], drop=False)
    r1 = table.ratings[(table.ratings["utt_id"] == "u1")
                       & (table.ratings["rater_id"] == "mylab:r1")].iloc[0]
    assert r1["primary"] == "angry"
    assert list(r1["secondary"]) == ["frustration", "sad"]
    assert (r1["arousal"], r1["valence"]) == (4.0, 2.0)
    assert r1["rater_type"] == "observer"
    r2 = table.ratings[(table.ratings["utt_id"] == "u1")
                       & (table.ratings["rater_id"] == "mylab:r2")].iloc[0]
    assert math.isnan(r2["valence"])              # empty cell = not rated
    # label_map: 'neu' -> neutral, the raw text kept.
    u2r1 = table.ratings[(table.ratings["utt_id"] == "u2")
                         & (table.ratings["rater_id"] == "mylab:r1")].iloc[0]
    assert (u2r1["primary"], u2r1["primary_raw"]) == ("neutral", "neu")
    # The same rater under two conditions is two ratings.
    u2r2 = table.ratings[(table.ratings["utt_id"] == "u2")
                         & (table.ratings["rater_id"] == "mylab:r2")]
    assert sorted(u2r2["condition"]) == ["face", "voice"]
    # A dimensions-only row and an intended row.
    seg_b = table.ratings[table.ratings["utt_id"] == "seg_b"].set_index("rater_id")
    assert seg_b.loc["mylab:r2", "primary"] is None and seg_b.loc["mylab:r2", "arousal"] == 3
    assert seg_b.loc["mylab:actor", "rater_type"] == "intended"
    assert len(ratings) == 11


def test_segments_and_header_durations(corpus):
    utts = manifest.load(corpus["root"]).table.utterances.set_index("utt_id")
    assert (utts.loc["seg_a", "start_s"], utts.loc["seg_a", "end_s"]) == (0.5, 1.5)
    assert utts.loc["u1", "extra"]["sample_rate"] == 16000     # probed header
    assert math.isnan(utts.loc["u1", "start_s"])


@pytest.mark.parametrize("sidecar", ["json", "none"])
def test_parquet_matches_csv(tmp_path, sidecar):
    csv_corpus = fixture.write(str(tmp_path / "c"))
    pq_corpus = fixture.write(str(tmp_path / "p"), fmt="parquet", sidecar=sidecar)
    options = {} if sidecar == "json" else {
        k: v for k, v in pq_corpus["options"].items() if k != "description"}
    from_csv = manifest.load(csv_corpus["root"]).table
    from_pq = manifest.load(pq_corpus["root"], manifest="manifest.parquet", **options)
    _check_good(from_pq.table, pq_corpus)
    assert {r.item for r in from_pq.rejects} == set(pq_corpus["rejects"])
    cols = ["utt_id", "rater_id", "condition", "primary", "arousal", "valence"]
    left = from_csv.ratings[cols].sort_values(cols[:3]).reset_index(drop=True)
    right = from_pq.table.ratings[cols].sort_values(cols[:3]).reset_index(drop=True)
    assert left.equals(right)


def test_plain_csv_without_bom_or_crlf(tmp_path):
    corpus = fixture.write(str(tmp_path / "m"), bom=False, crlf=False, problems=False)
    result = manifest.load(corpus["root"])
    assert not result.rejects
    _check_good(result.table, corpus)


def test_options_override_sidecar(corpus):
    table = manifest.load(corpus["root"], corpus="other",
                          categories=["angry", "happy", "neutral", "sad", "joy"]).table
    assert table.meta.corpus == "other"
    assert "bad_label" in set(table.utterances["utt_id"])


def test_inferred_vocabulary(tmp_path):
    corpus = fixture.write(str(tmp_path / "m"), sidecar="none", problems=False)
    table = manifest.load(corpus["root"], dimensions={"arousal": [1, 5], "valence": [1, 5]}
                          ).table
    assert table.meta.categories == ["angry", "happy", "neu", "neutral", "sad"]
    assert table.meta.secondary_categories == ["frustration"]


def test_strict_raises_with_every_problem(corpus):
    with pytest.raises(ValueError, match="5 utterance") as info:
        manifest.load(corpus["root"], strict=True)
    for expected in corpus["rejects"].values():
        assert expected in str(info.value)


def test_require_audio_false_keeps_missing_audio(corpus):
    result = manifest.load(corpus["root"], require_audio=False)
    utts = result.table.utterances.set_index("utt_id")
    assert math.isnan(utts.loc["bad_audio", "duration_s"])
    assert utts.loc["bad_audio", "extra"]["audio_problem"] == "file not found"
    assert "bad_audio" not in {r.item for r in result.rejects}


def _write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_column_errors(tmp_path):
    path = tmp_path / "manifest.csv"
    _write_csv(path, ["utt_id,audio_path,speaker_id,rater_id,primary,speker",
                      "a,x.wav,s,r,angry,1"])
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['speker'\]"):
        manifest.load(str(tmp_path))
    _write_csv(path, ["utt_id,audio_path,rater_id,primary", "a,x.wav,r,angry"])
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['speaker_id'\]"):
        manifest.load(str(tmp_path))
    _write_csv(path, ["utt_id,audio_path,speaker_id,rater_id,dim:arousal", "a,x.wav,s,r,3"])
    with pytest.raises(ValueError, match="no scale declared for"):
        manifest.load(str(tmp_path))
    with pytest.raises(ValueError, match=r"declared but the manifest has no \['dim:valence'\]"):
        manifest.load(str(tmp_path), dimensions={"arousal": [1, 5], "valence": [1, 5]})
    with pytest.raises(FileNotFoundError, match="other.csv"):
        manifest.load(str(tmp_path), manifest="other.csv")


def test_row_level_errors(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    path = tmp_path / "manifest.csv"
    _write_csv(path, [
        "utt_id,audio_path,speaker_id,rater_id,primary,gender,official_split,start_s,end_s",
        "g,a.wav,s,r,angry,other,,,",
        "h,a.wav,s,r,angry,,holdout,,",
        "i,a.wav,s,r,angry,,,1.0,",
        "j,a.wav,s,,angry,,,,",
        "k,a.wav,s,r,,,,,",
        ",a.wav,s,r,angry,,,,",
        "l,a.wav,s,r,angry,,,0.5,abc",
    ])
    result = manifest.load(str(tmp_path), categories=["angry"], require_audio=False)
    reasons = {r.item: r.reason for r in result.rejects}
    assert "gender 'other'" in reasons["g"]
    assert "official_split 'holdout'" in reasons["h"]
    assert "start_s and end_s must both be given" in reasons["i"]
    assert "empty rater_id" in reasons["j"]
    assert "no primary, secondary or dimensional value" in reasons["k"]
    assert "empty utt_id" in reasons["manifest.csv, line 7"]
    assert "end_s 'abc' is not a number" in reasons["l"]
    assert result.items_found == 7 and len(result.table.utterances) == 0


def test_sidecar_errors(tmp_path):
    path = tmp_path / "manifest.csv"
    _write_csv(path, ["utt_id,audio_path,speaker_id,rater_id,primary", "a,x.wav,s,r,angry"])
    (tmp_path / "manifest.yaml").write_text("categories: [angry]\ncolours: [red]\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['colours'\]"):
        manifest.load(str(tmp_path))
    (tmp_path / "manifest.yaml").write_text("dimensions: {arousal: [5, 1]}\n")
    with pytest.raises(ValueError, match="invalid scale"):
        manifest.load(str(tmp_path))


def test_root_may_be_the_manifest_file(corpus):
    result = manifest.load(str(pathlib.Path(corpus["root"]) / "manifest.csv"))
    assert len(result.table.utterances) == len(corpus["utterances"])


def test_numeric_fields_agree_by_value(tmp_path):
    fixture.write(str(tmp_path), sidecar="none", problems=False)
    path = tmp_path / "manifest.csv"
    _write_csv(path, ["utt_id,audio_path,speaker_id,rater_id,primary,start_s,end_s",
                      "a,audio/long.wav,s,r1,angry,0.5,1.5",
                      "a,audio/long.wav,s,r2,angry,0.50,1.500",
                      "b,audio/long.wav,s,r1,angry,0.5,1.5",
                      "b,audio/long.wav,s,r2,angry,0.6,1.5"])
    result = manifest.load(str(tmp_path))
    assert list(result.table.utterances["utt_id"]) == ["a"]
    assert "start_s differs" in result.rejects[0].reason


def test_round_trip(corpus, tmp_path):
    table = manifest.load(corpus["root"]).table
    table_io.save_table(table, str(tmp_path / "t"))
    assert table_io.tables_equal(table, table_io.load_table(str(tmp_path / "t")))
    assert pathlib.Path(table.resolve_audio("audio/u1.wav")).is_file()
