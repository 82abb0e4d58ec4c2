"""Corpus statistics of a loaded table: vote groups, plurality, agreement, printing."""

import io

from tfser import corpora
from tfser.labels import corpus_report
from tfser.testing.fixtures import crema_d as crema_fixture
from tfser.testing.fixtures import emodb as emodb_fixture


def test_vote_groups_follow_conditions_and_rater_types(tmp_path):
    crema = corpora.load_corpus("crema_d", crema_fixture.write(str(tmp_path / "c"))["root"])
    groups = corpus_report.vote_groups(crema.table)
    assert groups == [(("crowd",), "audiovisual"), (("crowd",), "face"), (("crowd",), "voice")]
    emodb = corpora.load_corpus("emodb", emodb_fixture.write(str(tmp_path / "e"))["root"])
    # No observers or crowd: the intended labels are the only votes there are.
    assert corpus_report.vote_groups(emodb.table) == [(("intended",), None)]
    assert corpus_report.group_name(("crowd",), None, conditional=True) == \
        "crowd / all conditions"


def test_summary_counts_and_printout(tmp_path):
    result = corpora.load_corpus("emodb", emodb_fixture.write(str(tmp_path / "e"))["root"])
    summary = corpus_report.summarise(result)
    assert (summary["items_found"], summary["rejected"]) == (11, 3)
    assert sum(summary["plurality"]["intended"].values()) == 8
    out = io.StringIO()
    corpus_report.print_summary(summary, out)
    text = out.getvalue()
    assert text.startswith("corpus emodb: 8 utterances, 3 speakers")
    assert "plurality label (intended; ties dropped)" in text
