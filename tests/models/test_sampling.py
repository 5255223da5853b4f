"""Training-row sampling: known keep rates, weights that undo the thinning, draws fixed by the
seed whatever the row order, and a weighted fit whose probabilities keep their scale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.models.conftest import HORIZON
from tier_ml.evaluation import expected_calibration_error
from tier_ml.features.build import ROW_WEIGHT
from tier_ml.models.candidates import customer_folds, latest_cutoff_rows
from tier_ml.models.matrix import model_columns
from tier_ml.models.propensity import PropensityModel
from tier_ml.models.sampling import (
    SamplingParams,
    StoredSample,
    cutoff_counts,
    keep_rates,
    row_draws,
    training_sample,
)
from tier_ml.models.training import TrainParams, labelled_before, stored_sample


def _rows(positives: list[int], sizes: list[int]) -> pd.DataFrame:
    """Cutoffs with a known number of rows and of positives each."""
    frames = [
        pd.DataFrame(
            {
                "customer_id": [f"C{i}" for i in range(size)],
                "as_of": pd.Timestamp("2025-01-01") + pd.DateOffset(months=k),
                "won_any": np.arange(size) < won,
            }
        )
        for k, (won, size) in enumerate(zip(positives, sizes, strict=True))
    ]
    return pd.concat(frames, ignore_index=True)


def test_within_the_budget_every_row_is_kept_at_weight_one():
    rows = _rows([10], [30])
    sample, weight = training_sample(rows, SamplingParams(max_rows=30), seed=1)
    assert sample is rows and (weight == 1).all()


def test_above_the_budget_negatives_go_first_at_one_rate():
    rows = _rows([10, 10], [100, 100])
    rates = keep_rates(rows["won_any"], rows["as_of"], SamplingParams(max_rows=100))
    won = rows["won_any"].to_numpy()
    assert (rates[won] == 1).all() and np.allclose(rates[~won], 80 / 180)


def test_no_cutoff_keeps_fewer_negatives_than_its_floor_then_all_rows_thin_evenly():
    rows = _rows([50, 5], [100, 100])
    sampling = SamplingParams(max_rows=80, min_negatives_per_positive=2)
    rates = keep_rates(rows["won_any"], rows["as_of"], sampling)
    assert rates.sum() == pytest.approx(80)
    first, second = rates[:100], rates[100:]
    # the first cutoff has fewer negatives than twice its positives: it keeps them all, and
    # its rows thin at the one even rate
    scale = 80 / (55 + 50 + 95 * 25 / 145)
    assert np.allclose(first, scale)
    assert np.allclose(second[:5], scale) and np.allclose(second[5:], scale * 25 / 145)


def test_weights_undo_the_thinning_per_cutoff():
    rows = _rows([20000, 5000], [200000, 200000])
    sample, weight = training_sample(rows, SamplingParams(max_rows=30000), seed=4)
    assert 29000 < len(sample) < 31000
    weighted = pd.DataFrame({"as_of": sample["as_of"], "won": sample["won_any"], "w": weight})
    per_cutoff = weighted.groupby(["as_of", "won"])["w"].sum().unstack()
    true = rows.groupby(["as_of", "won_any"]).size().unstack()
    np.testing.assert_allclose(per_cutoff.to_numpy(), true.to_numpy(), rtol=0.05)


def test_the_same_rows_are_drawn_whatever_their_order():
    rows = _rows([100, 300], [3000, 3000])
    sampling = SamplingParams(max_rows=1000)
    kept, _ = training_sample(rows, sampling, seed=9)
    shuffled, _ = training_sample(rows.sample(frac=1, random_state=0), sampling, seed=9)
    key = ["customer_id", "as_of"]
    pd.testing.assert_frame_equal(
        kept.sort_values(key).reset_index(drop=True),
        shuffled.sort_values(key).reset_index(drop=True),
    )
    other, _ = training_sample(rows, sampling, seed=10)
    assert not other.index.equals(kept.index)


def test_a_customers_draws_are_uniform_and_independent_across_cutoffs():
    """A customer kept at one cutoff is no likelier to be kept at another: otherwise the same
    customers fill every cutoff's sample and the fit sees fewer distinct customers."""
    customers, cutoffs = 5000, 6
    ids = pd.Series([f"C{i}" for i in range(customers)] * cutoffs)
    as_of = pd.Series(pd.date_range("2025-01-01", periods=cutoffs, freq="MS").repeat(customers))
    draws = row_draws(ids, as_of, seed=3).reshape(cutoffs, customers)
    assert np.histogram(draws, bins=10, range=(0, 1))[0].min() > 0.09 * draws.size
    across = np.corrcoef(draws)[~np.eye(cutoffs, dtype=bool)]
    assert np.abs(across).max() < 0.06  # 4 standard errors at 5,000 customers
    kept = draws < 0.2
    both = (kept[:, None, :] & kept[None, :, :]).mean(axis=2)[~np.eye(cutoffs, dtype=bool)]
    np.testing.assert_allclose(both, 0.04, atol=0.012)


def test_a_weighted_fit_on_thinned_rows_keeps_probabilities_calibrated(model_input):
    """Negatives cut to a third of their number: unweighted, the model would think buyers are
    far more common than they are; weighted, its calibrated probabilities on the next cutoff
    stay as good as the full fit's."""
    features = model_columns(model_input)
    cutoffs = sorted(model_input["as_of"].unique())
    train = labelled_before(model_input, cutoffs[-1], HORIZON)
    test = model_input[model_input["as_of"] == cutoffs[-1]]
    y = test["won_any"].to_numpy()

    def fitted(rows: pd.DataFrame, weight: np.ndarray | None) -> np.ndarray:
        model = PropensityModel({"n_estimators": 80}, seed=5).fit_deployed(
            rows[features],
            rows["won_any"],
            customer_folds(rows["customer_id"], 3),
            latest_cutoff_rows(rows["as_of"]),
            weight,
        )
        return model.predict(test[features])

    thin = SamplingParams(max_rows=int(1.8 * train["won_any"].sum()), min_negatives_per_positive=0)
    sample, weight = training_sample(train, thin, seed=2)
    assert len(sample) < 0.6 * len(train)
    weighted, unweighted = fitted(sample, weight), fitted(sample, None)
    full = fitted(train, None)
    assert abs(weighted.mean() - y.mean()) < 0.03
    assert unweighted.mean() - y.mean() > 0.07
    assert expected_calibration_error(y, weighted) < expected_calibration_error(y, full) + 0.02


def _stored(rows: pd.DataFrame, fit_sets, whole, sampling: SamplingParams) -> pd.DataFrame:
    """The table that a `StoredSample` keeps of `rows`, cutoff by cutoff as it is built."""
    stored = StoredSample(sampling, 7, fit_sets, whole)
    counts = cutoff_counts(rows["won_any"], rows["as_of"])
    return pd.concat(
        [stored.thin(cutoff, counts) for _, cutoff in rows.groupby("as_of")], ignore_index=True
    )


def test_a_thinned_table_keeps_every_fits_sample_and_its_whole_cutoffs():
    """Each fit draws, by the same hash, the rows it would draw from the whole table: the
    table thinned as it was built holds them (the rates of two fits, two thirds of the
    cutoffs and all of them, nest); its whole cutoffs keep every row at weight 1."""
    rows = _rows([300] * 6, [6000] * 6)
    cutoffs = sorted(rows["as_of"].unique())
    sampling = SamplingParams(max_rows=8000)
    fit_sets = (tuple(cutoffs[:4]), tuple(cutoffs))
    table = _stored(rows, fit_sets, (cutoffs[-1],), sampling)
    last = table["as_of"] == cutoffs[-1]
    assert last.sum() == 6000 and (table.loc[last, ROW_WEIGHT] == 1).all()
    assert len(table) < 0.45 * len(rows)
    represented = table.groupby(["as_of", "won_any"])[ROW_WEIGHT].sum().unstack()
    np.testing.assert_allclose(represented[True], 300)  # buyers are never thinned here
    np.testing.assert_allclose(represented[False], 5700, rtol=0.1)
    key = ["customer_id", "as_of"]
    for fit in fit_sets:
        whole, _ = training_sample(rows[rows["as_of"].isin(fit)], sampling, seed=7)
        thinned, weight = training_sample(table[table["as_of"].isin(fit)], sampling, seed=7)
        same = whole[key].merge(thinned[key]).shape[0]
        assert same > 0.95 * max(len(whole), len(thinned))
        assert weight.sum() == pytest.approx(len(fit) * 6000, rel=0.05)


def test_a_cutoff_built_with_other_outcomes_than_counted_is_refused():
    rows = _rows([30], [600])
    counts = cutoff_counts(rows["won_any"], rows["as_of"])
    stored = StoredSample(SamplingParams(max_rows=100), 0, (tuple(counts.index),), ())
    changed = rows.assign(won_any=np.arange(len(rows)) < 31)
    with pytest.raises(RuntimeError, match=r"won/lost as built"):
        stored.thin(changed, counts)


def test_the_table_is_thinned_for_the_replay_origins_and_the_champions_fit():
    cutoffs = list(pd.date_range("2024-01-01", periods=12, freq="MS"))
    params = TrainParams(horizon_days=90, sampling=SamplingParams(max_rows=1000))
    stored = stored_sample(cutoffs, params, scored=[pd.Timestamp("2025-03-01")])
    # origins a month apart (a third of the horizon), each fitted on the cutoffs 90 days before
    assert stored.whole == (*cutoffs[-3:], cutoffs[-1], pd.Timestamp("2025-03-01"))
    assert [len(f) for f in stored.fit_sets] == [7, 8, 9, 12]
    assert stored_sample(cutoffs, replace(params, sampling=SamplingParams())) is None
    assert stored_sample(cutoffs[:3], params) is None  # no origin: customer folds see all
