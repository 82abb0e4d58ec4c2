"""FeaturizeConfig: every shipped config loads and plans; bad keys and values fail clearly."""

import glob
import os

import pytest

from tfser import beam as tfser_beam
from tfser.beam import config as config_lib
from tfser.config import overrides as overrides_lib
from tfser.config.errors import UserError

from tests.beam.helpers import CONFIG_DIR, config_path

CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))
MINIMAL = {"feature_sets": ["egemaps_functionals"],
           "labels": {"views": [{"name": "emotion", "kind": "hard"}]}}


def test_the_issue_configs_are_shipped():
    names = {os.path.basename(p) for p in CONFIGS}
    assert {"synthetic_000.yaml", "synthetic_001.yaml", "synthetic_002.yaml",
            "synthetic_003.yaml", "emodb.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_every_config_loads_and_names_its_command(path):
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    assert first.startswith("# tfser-featurize --config=configs/featurize/" +
                            os.path.basename(path))
    config = tfser_beam.load_config(path)
    assert config.feature_sets
    assert config_lib.FeaturizeConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("name", ["synthetic_000.yaml", "synthetic_001.yaml",
                                  "synthetic_002.yaml", "synthetic_003.yaml"])
def test_synthetic_configs_plan_on_the_small_corpus(name, synth_table):
    plan = tfser_beam.make_plan(tfser_beam.load_config(config_path(name)), synth_table)
    assert plan.items and len(plan.protocol) >= 1
    assert len(plan.items) + len(plan.not_selected) == len(synth_table.utterances)
    heads = [spec.head for spec in plan.label_specs]
    assert len(heads) == len(set(heads))


def test_paper_settings_of_the_configs():
    c001 = tfser_beam.load_config(config_path("synthetic_001.yaml"))
    assert c001.speed_perturb == (0.9, 1.1) and c001.variants == ("speed0.9", "speed1.1")
    c002 = tfser_beam.load_config(config_path("synthetic_002.yaml"))
    assert c002.normalisation == {"emobase_lld_002": "per_speaker"}
    assert c002.split.protocol == "loso_session"
    c003 = tfser_beam.load_config(config_path("synthetic_003.yaml"))
    assert c003.continuous and c003.traces.features == ("au",)
    assert c003.all_features == ("windowed_egemaps_003", "windowed_mfcc_003", "au")
    emodb = tfser_beam.load_config(config_path("emodb.yaml"))
    assert emodb.labels.rater_types == ("intended",)


def test_overrides_use_dotted_paths_list_indices_and_yaml_values():
    config = tfser_beam.load_config(config_path("synthetic_001.yaml"), [
        "feature_sets=[egemaps_functionals, logspec_001],num_shards=3",
        "labels.views.1.params.a=0.5", "split.params.dev_policy=none"])
    assert config.feature_sets == ("egemaps_functionals", "logspec_001")
    assert config.num_shards == 3
    assert config.labels.views[1].params["a"] == 0.5
    assert config.split.params == {"dev_policy": "none"}


def test_split_overrides_respects_brackets_and_quotes():
    assert overrides_lib.split_overrides("a=[1, 2],b='x,y', c={d: 1, e: 2}") == \
        ["a=[1, 2]", "b='x,y'", "c={d: 1, e: 2}"]


@pytest.mark.parametrize("change, message", [
    ({"feature_set": ["x"]}, "unknown keys ['feature_set']"),
    ({"feature_sets": ["mfcc_magic"]}, "unknown feature set 'mfcc_magic'"),
    ({"feature_sets": []}, "must not be empty"),
    ({"normalisation": "zscore"}, "must be one of ['global', 'per_speaker', 'none']"),
    ({"normalisation": {"logspec_001": "global"}}, "unknown keys ['logspec_001']"),
    ({"speed_perturb": [1.0]}, "differ from 1"),
    ({"num_shards": 0}, "num_shards: must be an integer >= 1"),
    ({"min_duration_s": -1}, "min_duration_s"),
    ({"labels": None}, "labels: missing"),
    ({"labels": {"views": [{"name": "e", "kind": "hardest"}]}}, "unknown kind 'hardest'"),
    ({"split": {"protocol": "loso", "folds": 3}}, "split: unknown keys ['folds']"),
    ({"traces": {"head": "t"}}, "traces: is only used with continuous: true"),
    ({"select": {"labelled_by": "hard"}}, "select.labelled_by: names no label view: 'hard'; "
                                          "views: ['emotion']"),
    ({"select": {"extra": {"dialog_kind": []}}}, "select.extra.dialog_kind: lists no value"),
    ({"select": {"extra": ["impro"]}}, "select.extra: must be a mapping"),
    ({"select": {"trainset": "all"}}, "select: unknown keys ['trainset']"),
])
def test_invalid_configs_name_the_problem(change, message):
    with pytest.raises(ValueError) as error:
        config_lib.FeaturizeConfig.from_dict({**MINIMAL, **change})
    assert message in str(error.value)


@pytest.mark.parametrize("change, message", [
    ({"feature_sets": ["logspec_001"]}, "runs at 100 Hz"),
    ({"speed_perturb": [0.9]}, "cannot be combined with continuous"),
    ({"traces": {"features": ["egemaps_lld"]}}, "clash with registered feature-set names"),
    ({"traces": {"label_shift_s": -1.0}}, "traces.label_shift_s"),
])
def test_invalid_continuous_configs(change, message):
    base = {"feature_sets": ["windowed_egemaps_003"], "continuous": True}
    with pytest.raises(ValueError) as error:
        config_lib.FeaturizeConfig.from_dict({**base, **change})
    assert message in str(error.value)


def test_load_config_names_the_file_in_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("feature_sets: [egemaps_functionals]\nlabels: {views: []}\n")
    # Config errors are user errors: binaries print them as one line.
    with pytest.raises(UserError, match="bad.yaml"):
        tfser_beam.load_config(str(path))
    with pytest.raises(UserError, match="is not key=value"):
        tfser_beam.load_config(config_path("synthetic_000.yaml"), ["num_shards"])
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="must be a YAML mapping"):
        tfser_beam.load_config(str(path))


def test_bad_split_fails_when_planning(synth_table):
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"),
                                    ["split={protocol: random}"])
    with pytest.raises(ValueError, match="utterance-random split"):
        tfser_beam.make_plan(config, synth_table)


def test_select_fails_clearly_when_planning(synth_table):
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"),
                                    ["select={extra: {dialog_kind: [impro]}}"])
    with pytest.raises(ValueError, match="select.extra.dialog_kind: no utterance of table"):
        tfser_beam.make_plan(config, synth_table)
    config = tfser_beam.load_config(config_path("synthetic_002.yaml"),
                                    ["select.labelled_by=rater"])     # a per_rater view
    with pytest.raises(ValueError, match="labels parts of an utterance"):
        tfser_beam.make_plan(config, synth_table)


def test_labelled_by_leaves_unlabelled_utterances_out_with_a_reason(synth_table):
    everything = tfser_beam.make_plan(tfser_beam.load_config(config_path("synthetic_001.yaml")),
                                      synth_table)
    config = tfser_beam.load_config(config_path("synthetic_001.yaml"),
                                    ["select.labelled_by=emotion"])
    dominant = tfser_beam.make_plan(config, synth_table)
    mask = everything.derived["emotion"].mask
    row = {u: i for i, u in enumerate(everything.derived.utt_ids)}
    unlabelled = [i.utt_id for i in everything.items if not mask[row[i.utt_id]]]
    assert unlabelled                                  # ties leave the hard view masked
    assert [i.utt_id for i in dominant.items] == [i.utt_id for i in everything.items
                                                  if mask[row[i.utt_id]]]
    reason = "no 'emotion' label (select.labelled_by: emotion)"
    assert dominant.not_selected == everything.not_selected + [(u, reason) for u in unlabelled]
    assert not set(unlabelled) & {u for fold in dominant.protocol for u in fold.train}


def test_exponent_numbers_without_a_dot_are_numbers():
    # YAML 1.1 reads 5e-2 as a string; the shared number check reads it as a number.
    config = tfser_beam.load_config(config_path("synthetic_000.yaml"), ["min_duration_s=5e-2"])
    assert config.min_duration_s == 0.05
