"""The loader registry: one option vocabulary checked by name and type, one ending."""

import importlib
import inspect
import os

import pytest

from tfser import corpora
from tfser.config.errors import UserError
from tfser.corpora import options as options_lib
from tfser.testing.fixtures import emodb as emodb_fixture

EMODB_OPTIONS = "perception_file, audio_check, min_duration_s"


def _signature_options(name):
    load = importlib.import_module(f"tfser.corpora.{corpora.LOADERS[name]}").load
    return {p.name: p.default for p in inspect.signature(load).parameters.values()
            if p.name != "root" and p.kind is not inspect.Parameter.VAR_KEYWORD}


@pytest.mark.parametrize("name", sorted(corpora.LOADERS))
def test_declared_options_match_the_load_signature(name):
    declared = {o.name: o.default for o in corpora.loader_options(name)}
    assert declared == _signature_options(name)


def test_one_name_one_meaning_across_loaders():
    kinds = {}
    for name in corpora.LOADERS:
        for option in corpora.loader_options(name):
            kinds.setdefault(option.name, set()).add(option.kind)
            assert option.help.strip(), (name, option.name)
    assert {n: k for n, k in kinds.items() if len(k) > 1} == {}
    assert kinds["audio_check"] == kinds["require_audio"] == {"flag"}
    # The old spelling of require_audio is gone from every signature.
    assert "check_audio" not in kinds


@pytest.fixture(name="emodb_root")
def _emodb_root(tmp_path):
    return emodb_fixture.write(str(tmp_path / "emodb"))["root"]


def test_misspelled_option_names_the_closest(emodb_root):
    with pytest.raises(options_lib.OptionError) as caught:
        corpora.load_corpus("emodb", emodb_root, {"min_duraton_s": 0.5})
    assert str(caught.value) == (
        "unknown option 'min_duraton_s' for corpus emodb; did you mean 'min_duration_s'? "
        f"options: {EMODB_OPTIONS}")
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ValueError)
    with pytest.raises(options_lib.OptionError, match=r"for corpus ravdess; options: none"):
        corpora.load_corpus("ravdess", emodb_root, {"speed": 1})


@pytest.mark.parametrize("name, value, message", [
    ("min_duration_s", "abc", "option min_duration_s of emodb must be a number, got 'abc'"),
    ("min_duration_s", True, "option min_duration_s of emodb must be a number, got True"),
    ("audio_check", "maybe", "option audio_check of emodb must be true or false, got 'maybe'"),
    ("perception_file", [1], "option perception_file of emodb must be text, got [1]"),
])
def test_bad_value_is_one_line(emodb_root, name, value, message):
    with pytest.raises(options_lib.OptionError) as caught:
        corpora.load_corpus("emodb", emodb_root, {name: value})
    assert str(caught.value) == message


def test_text_values_are_converted(emodb_root):
    result = corpora.load_corpus("emodb", emodb_root,
                                 {"audio_check": "true", "min_duration_s": "0.5"})
    problems = {u: e["audio_problem"] for u, e in
                zip(result.table.utterances["utt_id"], result.table.utterances["extra"])}
    assert problems["03a01Wa"] and problems["16b09Wa"]       # 0.45 s and 0.40 s
    assert corpora.load_corpus("emodb", emodb_root, audio_check=True).items_found == 11


@pytest.mark.parametrize("kind, value, expected", [
    ("integer_list", "1,2", [1, 2]), ("integer_list", [3], [3]), ("integer_list", 4, [4]),
    ("text_list", "a, b", ["a", "b"]), ("text_list", ["a"], ["a"]),
    ("flag", "No", False), ("number", 2, 2.0), ("text", 7, "7"),
    ("mapping", {"a": "b"}, {"a": "b"}),
])
def test_kinds_convert(kind, value, expected):
    assert options_lib.Option("x", kind, None, "x").convert(value, "c") == expected


def test_choice_lists_the_choices():
    option = corpora.loader_options("crema_d")[0]
    with pytest.raises(options_lib.OptionError,
                       match=r"ratings of crema_d must be one of 'auto', 'responses', 'votes', "
                             r"got 'both'"):
        option.convert("both", "crema_d")


@pytest.mark.parametrize("name", ["emodb", "ravdess"])
def test_nothing_found_is_a_user_error(tmp_path, name):
    with pytest.raises(corpora.NothingFoundError) as caught:
        corpora.load_corpus(name, str(tmp_path))
    message = str(caught.value)
    assert f"no utterances found in {tmp_path}" in message and ".wav" in message
    assert isinstance(caught.value, UserError)
    assert isinstance(caught.value, FileNotFoundError)


def test_unknown_corpus():
    with pytest.raises(corpora.UnknownCorpusError, match="known corpora") as caught:
        corpora.load_corpus("emodbb", ".")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, UserError)


def test_old_synthetic_option_name_still_works(tmp_path):
    from tfser import synthetic
    root = str(tmp_path / "synth")
    synthetic.generate(root, seed=0, size="small")
    os.remove(os.path.join(root, "wav", "utt_S02M_0001.wav"))
    with pytest.warns(DeprecationWarning, match="require_audio"):
        via_registry = corpora.load_corpus("synthetic", root, {"check_audio": False})
    assert via_registry.rejects == []
    with pytest.warns(DeprecationWarning, match="require_audio"):
        direct = corpora.get_loader("synthetic")(root, check_audio=False)
    assert direct.rejects == []
    assert len(corpora.load_corpus("synthetic", root).rejects) == 1
