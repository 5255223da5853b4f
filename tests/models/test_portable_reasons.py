"""The portable scoring model (the pyfunc Spark runs through `spark_udf`) gives each customer
what `score` gives: the same P(win), expected value, tier, reasons, risks and next step, from
the same exact TreeSHAP, however the customers are split into batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import base_parameters
from tests.models.conftest import HORIZON
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import reason_registry
from tier_ml.models.candidates import fit_candidate
from tier_ml.models.matrix import model_columns
from tier_ml.models.segments import SegmentModel
from tier_ml.models.training import labelled_before
from tier_ml.portable import OUTPUT_COLUMNS, REASON_COLUMNS, TierScoringModel
from tier_ml.scoring import score_customers, scoring_params

SAYING = REASON_COLUMNS[:-1]  # the reason and risk sentences


@pytest.fixture(scope="module")
def deployed(model_input, train_params):
    """The model and RFM candidates fitted on the cutoffs closed by the last one, the last
    cutoff's rows, and the shipped scoring parameters in English and in Chinese."""
    last = model_input["as_of"].max()
    history = labelled_before(model_input, last, HORIZON)
    fitted = {m: fit_candidate(history, m, train_params.candidates) for m in ("model", "rfm")}
    rows = model_input[model_input["as_of"] == last].reset_index(drop=True)
    segments = SegmentModel(seed=0).fit(history[history["as_of"] == history["as_of"].max()])
    shipped = {k: base_parameters(k)[k] for k in ("features", "train")}
    scoring = base_parameters("score")["scoring"]
    config = FeatureParams.from_dict(shipped["features"]).config
    settings = {}
    for language in ("en", "zh"):
        params = scoring_params(
            {**scoring, "language": language},
            shipped["features"],
            shipped["train"],
            str(last.date()),
            False,
        )
        settings[language] = params, reason_registry(config, language)
    return fitted, segments, rows, settings


def _scored(deployed, method: str, language: str) -> tuple[pd.DataFrame, TierScoringModel]:
    """`score` over the whole population, and the portable model with its fitted tiers."""
    fitted, segments, rows, settings = deployed
    params, registry = settings[language]
    champion = fitted[method]
    models = {"propensity": champion.propensity, "ltv": champion.ltv, "segments": segments}
    scores, _, assigner = score_customers(rows, models, params, registry, pd.DataFrame())
    return scores, TierScoringModel(models, assigner, params, registry)


def _registered_input(rows: pd.DataFrame) -> pd.DataFrame:
    """What the registered model's signature takes: the model columns, no id or date."""
    return rows[model_columns(rows)]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_portable_model_says_what_score_says(deployed, language):
    scores, model = _scored(deployed, "model", language)
    out = model.predict(None, _registered_input(deployed[2]))
    assert list(out.columns) == OUTPUT_COLUMNS
    for column in ("p_win", "expected_value", "expected_revenue"):
        np.testing.assert_allclose(out[column], scores[column], rtol=1e-12, err_msg=column)
    # `score` gives each tier its exact share by rank (a whole number of customers); a batch
    # can only compare with the cut points (interpolated quantiles), so the customer next to
    # a cut point may fall on the other side of it
    moved = (out["tier"] != scores["tier"]).to_numpy()
    assert moved.sum() <= 3
    values = out["expected_value"].to_numpy()
    for value in values[moved]:
        cut = min(model.assigner.cuts_.values(), key=lambda c: abs(c - value))
        assert not ((values > min(value, cut)) & (values < max(value, cut))).any()
    assert out["segment"].tolist() == scores["segment"].tolist()
    pd.testing.assert_frame_equal(out[SAYING].astype("str"), scores[SAYING])
    assert out["reason_1"].notna().mean() > 0.9  # the sentences are there, not empty
    assert out.loc[~moved, "next_step"].tolist() == scores.loc[~moved, "next_step"].tolist()
    assert (out["next_step"] != "").sum() > 10  # B and C accounts get a next step


def test_a_batch_gets_the_answers_of_the_whole(deployed):
    """A Spark partition is a batch: each customer's answer must not depend on the others."""
    _, model = _scored(deployed, "model", "en")
    rows = _registered_input(deployed[2])
    whole = model.predict(None, rows)
    cuts = [0, 7, 400, len(rows)]
    batches = [
        model.predict(None, rows.iloc[a:b].set_axis(range(b - a, 2 * (b - a))))
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


def test_a_baseline_champion_gives_no_reasons_ranked_within_a_batch(deployed):
    """RFM's parts are quintiles of the whole population: a batch cannot rank them, so the
    portable model leaves the reasons to `score`, and has no next step (no model to ask)."""
    scores, model = _scored(deployed, "rfm", "en")
    out = model.predict(None, _registered_input(deployed[2]))
    np.testing.assert_allclose(out["p_win"], scores["p_win"], rtol=1e-12)
    assert out[SAYING].isna().all().all() and scores[SAYING].notna().any(axis=1).mean() > 0.5
    assert (out["next_step"] == "").all()


def test_no_customer_hears_one_fact_twice(deployed):
    """Without an open deal, its amount, age and expected value said it again and again
    ("0 in open deals", "open deals worth 0 after their win chances", "no open deal"); now
    the count says it once, with their effects, and the rest of the drill-down keeps none."""
    fitted, segments, rows, settings = deployed
    params, registry = settings["en"]
    champion = fitted["model"]
    models = {"propensity": champion.propensity, "ltv": champion.ltv, "segments": segments}
    scores, long, _ = score_customers(rows, models, params, registry, pd.DataFrame())
    counts = rows.set_index("customer_id")[["open_deal_count", "won_count_total"]]
    with_count = long.join(counts, on="customer_id")
    for count in ("open_deal_count", "won_count_total"):
        said = with_count[with_count[count].eq(0)]
        emptied = said["feature"].map(lambda f: getattr(registry.get(f), "absent_with", None))
        emptied = emptied.eq(count)
        assert len(said) > 100 and not (emptied & said["effect"].ne(0)).any(), count
    none = scores[counts["open_deal_count"].eq(0).to_numpy()][SAYING]
    assert none.apply(lambda c: c.str.contains("no open deal")).sum(axis=1).max() == 1
    assert not none.apply(lambda c: c.str.contains("in open deals|open deals worth")).any(axis=None)
