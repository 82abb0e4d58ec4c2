"""Work items on disk (tfser.beam.item_chunks) and the plan the driver keeps during a run."""

import dataclasses
import os

import pytest

from tfser import beam as tfser_beam
from tfser.beam import item_chunks
from tfser.beam import work

from tests.beam.helpers import config_path


@pytest.mark.parametrize("total, size", [(1, 1), (32, 1), (33, 2), (100, 4), (512, 16),
                                         (20000, 16)])
def test_chunks_are_small_for_small_corpora_and_at_most_16(total, size):
    assert item_chunks.chunk_size(total) == size


def test_chunks_round_trip_in_order_and_a_generator_is_consumed_lazily(tmp_path,
                                                                       monkeypatch):
    items = [work.WorkItem(utt_id=f"u{i}", speaker_id="s", session_id="", group="s",
                           audio_path=f"/a/{i}.wav") for i in range(7)]
    pulled = []

    def planned():
        for item in items:
            pulled.append(item.utt_id)
            yield item

    written_after = []
    real_dump = item_chunks.pickle.dump

    def dump(chunk, handle, **kwargs):
        written_after.append(len(pulled))  # items drawn when this chunk was written
        real_dump(chunk, handle, **kwargs)

    monkeypatch.setattr(item_chunks.pickle, "dump", dump)
    paths = item_chunks.write_chunks(planned(), str(tmp_path / "items"), 3)
    assert [os.path.basename(p) for p in paths] == [
        "items-000000.pkl", "items-000001.pkl", "items-000002.pkl"]
    assert written_after == [3, 6, 7]  # never more than one chunk ahead
    back = [item for path in paths for item in item_chunks.read_chunk(path)]
    assert back == items


def test_the_plan_keeps_no_table_and_releases_its_items(synth_table):
    plan = tfser_beam.make_plan(tfser_beam.load_config(config_path("synthetic_001.yaml")),
                                synth_table)
    names = {field.name for field in dataclasses.fields(plan)}
    assert "table" not in names and "selected" not in names
    assert plan.table_utterances == len(synth_table.utterances)
    assert plan.corpus == synth_table.meta.corpus
    # Every item's original and augmented copies, in plan order.
    assert plan.expected == [(i.utt_id, v, i.speaker_id) for i in plan.items
                             for v in work.item_variants(i)]
    assert plan.augmented_speakers == {i.speaker_id for i in plan.items if i.speed_factors}
    assert plan.augmented_speakers  # 001 speed-perturbs its training utterances
    light = plan.without_items()
    assert light.items == [] and light.derived is None
    assert light.expected == plan.expected and light.settings == plan.settings
