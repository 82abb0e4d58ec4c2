"""Fleiss' kappa and Krippendorff's alpha against the libraries and published values."""

import numpy as np
import pytest
from statsmodels.stats import inter_rater

from tfser import annotations
from tfser.labels import agreement

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers,
# 12 units, values 1..5; published alpha is 0.743 (nominal) and 0.849 (interval).
KRIPPENDORFF_EXAMPLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])


def test_fleiss_equal_counts_matches_statsmodels():
    rng = np.random.default_rng(0)
    counts = np.stack([rng.multinomial(5, rng.dirichlet([1, 1, 1, 1])) for _ in range(30)])
    expected = inter_rater.fleiss_kappa(counts)
    assert agreement.fleiss_kappa(counts) == pytest.approx(expected)
    assert agreement.fleiss_kappa_generalised(counts) == pytest.approx(expected)
    # statsmodels' own worked example (Fleiss 1971 data as used in its tests).
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
                      [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
                      [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    assert agreement.fleiss_kappa_generalised(table) == pytest.approx(
        inter_rater.fleiss_kappa(table))
    assert agreement.fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)


def test_fleiss_varying_raters_hand_computed():
    counts = np.array([[2, 0], [1, 2], [0, 3], [1, 1], [1, 0]])
    # Last row has one rating and is dropped. P_i = 1, 1/3, 1, 0 -> P_bar = 7/12;
    # p = (4/10, 6/10) -> P_e = 0.52; kappa = (7/12 - 0.52) / 0.48 = 19/144.
    assert agreement.fleiss_kappa(counts) == pytest.approx(19 / 144)
    assert np.isnan(agreement.fleiss_kappa([[3, 0], [2, 0]]))
    with pytest.raises(ValueError, match="no item has at least 2 ratings"):
        agreement.fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="counts row 1"):
        agreement.fleiss_kappa([[1, 1], [0.5, 2]])


def test_krippendorff_alpha_classic_example():
    assert agreement.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "nominal") == pytest.approx(
        0.743, abs=5e-4)
    assert agreement.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "interval") == pytest.approx(
        0.849, abs=5e-4)
    assert np.isnan(agreement.krippendorff_alpha([[1, 1, NAN], [1, 1, 2]]))
    with pytest.raises(ValueError, match="level"):
        agreement.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "cardinal")


def _example_table(extra_ratings=()):
    categories = [f"c{v}" for v in range(1, 6)]
    meta = annotations.TableMeta(corpus="toy", categories=categories,
                                 dimensions={"arousal": [1.0, 5.0]})
    utts = [annotations.Utterance(f"u{j:02d}", "toy", f"u{j}.wav", 1.0, "toy:S1")
            for j in range(12)]
    ratings = [annotations.Rating(f"u{j:02d}", f"toy:R{r}", primary=f"c{int(v)}",
                                  dims={"arousal": float(v)})
               for r, row in enumerate(KRIPPENDORFF_EXAMPLE)
               for j, v in enumerate(row) if np.isfinite(v)]
    # A self-assessment is not an observer rating and must not count by default.
    ratings.append(annotations.Rating("u00", "toy:actor", rater_type="self", primary="c5",
                                      dims={"arousal": 5.0}))
    ratings.extend(extra_ratings)
    return annotations.build_table(meta, utts, ratings)


def test_table_wrappers_reproduce_the_example():
    table = _example_table()
    classes = [f"c{v}" for v in range(1, 6)]
    matrix, raters, utt_ids = agreement.class_reliability_matrix(table, classes)
    assert raters == ["toy:R0", "toy:R1", "toy:R2", "toy:R3"]
    np.testing.assert_array_equal(matrix, KRIPPENDORFF_EXAMPLE - 1)
    assert agreement.table_krippendorff_alpha(table, classes) == pytest.approx(0.743, abs=5e-4)
    assert agreement.table_dimension_alpha(table, "arousal") == pytest.approx(0.849, abs=5e-4)
    counts = np.stack([np.bincount(col[np.isfinite(col)].astype(int) - 1, minlength=5)
                       for col in KRIPPENDORFF_EXAMPLE.T])
    assert agreement.table_fleiss_kappa(table, classes) == pytest.approx(
        agreement.fleiss_kappa(counts))
    with pytest.raises(ValueError, match="unknown dimension 'valence'"):
        agreement.table_dimension_alpha(table, "valence")


def test_rater_with_two_conditions_must_pick_one():
    extra = [annotations.Rating("u01", "toy:R0", primary="c4", condition="face",
                                dims={"arousal": 4.0})]
    table = _example_table(extra)
    classes = [f"c{v}" for v in range(1, 6)]
    with pytest.raises(ValueError, match=r"toy:R0 gave utterance u01 several different"):
        agreement.table_krippendorff_alpha(table, classes)
    with pytest.raises(ValueError, match="toy:R0 gave utterance u01 several 'arousal'"):
        agreement.table_dimension_alpha(table, "arousal")
