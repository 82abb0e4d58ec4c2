"""tfser-featurize in-process: the reconciled summary, the recorded command, refusals."""

import os
import sys

import pytest

from pipelines import featurize

from tests.beam.helpers import config_path, subset_table

OVERRIDES = ["split={protocol: loso, params: {dev_policy: none}}",
             "feature_sets=[egemaps_functionals]"]


@pytest.fixture(scope="module")
def tiny_table(synth_table, tmp_path_factory):
    return subset_table(synth_table, tmp_path_factory.mktemp("tiny") / "table",
                        utterances_per_speaker=2, speakers=2)


def _argv(table, out, *extra):
    return (["tfser-featurize", f"--config={config_path('synthetic_001.yaml')}",
             f"--table={table}", f"--out={out}"]
            + [f"--params_override={override}" for override in OVERRIDES] + list(extra))


def test_prints_the_summary_then_refuses_to_clobber(tiny_table, tmp_path, capsys,
                                                    monkeypatch):
    out = tmp_path / "features"
    argv = _argv(tiny_table, out, "--params_override=speed_perturb=[1.1]",
                 "--direct_running_mode=in_memory")
    monkeypatch.setattr(sys, "argv", argv)
    featurize.BINARY.invoke(argv)
    lines = capsys.readouterr().out.splitlines()
    assert "in 4 = written 4 + rejected 0 (not selected: 0 of 4 table rows)" in lines
    assert "augmented in 4 = written 4 + rejected 0" in lines
    assert "utt/s" in lines[-1] and "real-time factor" in lines[-1]
    with open(os.path.join(out, "config.yaml"), encoding="utf-8") as handle:
        assert handle.readline().startswith("# tfser-featurize --config=")

    with pytest.raises(SystemExit) as exited:
        featurize.BINARY.invoke(_argv(tiny_table, out))
    assert exited.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: output directory {out} exists")


def test_a_bad_override_is_one_line_naming_the_override(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        featurize.BINARY.invoke(_argv(tmp_path, tmp_path / "out", "--params_override=num_shardz=2"))
    assert exited.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: --params_override 'num_shardz=2' (over ")
    assert not (tmp_path / "out").exists()


def test_the_recorded_command_quotes_its_arguments():
    assert featurize.created_by_command(["prog", "--out=a b"]) == "tfser-featurize '--out=a b'"


def test_a_cluster_giving_up_is_one_line_and_exit_1(tiny_table, tmp_path, capsys,
                                                     monkeypatch):
    """What the command says when Dask gave up (the real give-up is in
    tests/beam/test_dask.py): one line, status 1 (not the user's input), --out unchanged."""
    from tfser import beam as tfser_beam
    from tfser.beam import runners

    def give_up(*args, **kwargs):
        raise runners.RunnerGaveUp("the Dask cluster gave up: Attempted to run task x on 1 "
                                   "different workers, but all those workers died")

    monkeypatch.setattr(tfser_beam, "build_pipeline", give_up)
    out = tmp_path / "features"
    with pytest.raises(SystemExit) as exited:
        featurize.BINARY.invoke(_argv(tiny_table, out))
    assert exited.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: the Dask cluster gave up: Attempted to run task x on 1 different "
                   f"workers, but all those workers died ({out} is unchanged)"]
