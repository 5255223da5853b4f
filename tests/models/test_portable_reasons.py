"""The portable scoring model (the pyfunc Spark runs through `spark_udf`) gives each customer
what `score` gives: the same P(win), expected value, tier, reasons, risks and next step, from
the same exact TreeSHAP, however the customers are split into batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import base_parameters
from tests.models.conftest import HORIZON
from tier_ml.cold_start import pooled_outcomes
from tier_ml.features.config import FeatureParams
from tier_ml.features.registry import OPEN_DEAL_FACTS, WON_DEAL_FACTS, reason_registry
from tier_ml.io.keys import POOL
from tier_ml.models.candidates import fit_candidate
from tier_ml.models.matrix import model_columns
from tier_ml.models.segments import SegmentModel
from tier_ml.models.training import labelled_before
from tier_ml.portable import OUTPUT_COLUMNS, SAID_COLUMNS, TierScoringModel
from tier_ml.scoring import score_customers, scoring_params


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
    pool = pooled_outcomes(history, HORIZON, ["industry", "region"])
    return fitted, segments, rows, settings, pool


def _scored(
    deployed, method: str, language: str, pooled: bool = False
) -> tuple[pd.DataFrame, TierScoringModel]:
    """`score` over the whole population, and the portable model with its fitted tiers;
    `pooled`: cold starts take the pooled estimate."""
    fitted, segments, rows, settings, pool = deployed
    params, registry = settings[language]
    champion = fitted[method]
    models = {"propensity": champion.propensity, "ltv": champion.ltv, "segments": segments}
    models = {**models, POOL: pool} if pooled else models
    scores, _, assigner = score_customers(rows, models, params, registry, pd.DataFrame())
    return scores, TierScoringModel(models, assigner, params, registry)


def _registered_input(rows: pd.DataFrame) -> pd.DataFrame:
    """What the registered model's signature takes: the model columns, no id or date."""
    return rows[model_columns(rows)]


@pytest.mark.parametrize(
    "language, pooled", [("en", False), ("zh", False), ("en", True)], ids=["en", "zh", "pool"]
)
def test_the_portable_model_says_what_score_says(deployed, language, pooled):
    scores, model = _scored(deployed, "model", language, pooled)
    out = model.predict(None, _registered_input(deployed[2]))
    assert list(out.columns) == OUTPUT_COLUMNS
    for column in ("p_win", "expected_value", "expected_revenue"):
        np.testing.assert_allclose(out[column], scores[column], rtol=1e-12, err_msg=column)
    # `score` gives each tier its exact share by rank (a whole number of customers, ties split
    # by id); a batch can only compare with the cut points (interpolated quantiles), so the
    # customers next to a cut point (of one value: pooled estimates tie) may fall across it
    moved = (out["tier"] != scores["tier"]).to_numpy()
    values = out["expected_value"].to_numpy()
    assert len(set(values[moved])) <= 3
    for value in values[moved]:
        cut = min(model.assigner.cuts_.values(), key=lambda c: abs(c - value))
        assert not ((values > min(value, cut)) & (values < max(value, cut))).any()
    assert out["segment"].tolist() == scores["segment"].tolist()
    pd.testing.assert_frame_equal(out[SAID_COLUMNS].astype("str"), scores[SAID_COLUMNS])
    assert out["reason_1"].notna().mean() > 0.9  # the sentences are there, not empty
    assert out.loc[~moved, "next_step"].tolist() == scores.loc[~moved, "next_step"].tolist()
    assert (out["next_step"] != "").sum() > 10  # B and C accounts get a next step
    cold = scores["cold_start"].to_numpy()
    assert cold.sum() > 10
    if pooled:  # the pool's estimate and its reason, and no next step: the model did not say
        assert out.loc[cold, "reason_1"].str.startswith("too little history").all()
        assert (out.loc[cold, "next_step"] == "").all()


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
    assert (
        out[SAID_COLUMNS].isna().all().all()
        and scores[SAID_COLUMNS].notna().any(axis=1).mean() > 0.5
    )
    assert (out["next_step"] == "").all()


def test_no_customer_hears_one_fact_twice(deployed):
    """Without an open deal, its amount, age and expected value said it again and again
    ("0 in open deals", "open deals worth 0 after their win chances", "no open deal"); now
    the count says it once, with their effects, and the rest of the drill-down keeps none.
    No customer's reasons repeat a sentence, in either language."""
    fitted, segments, rows, settings, _ = deployed
    champion = fitted["model"]
    models = {"propensity": champion.propensity, "ltv": champion.ltv, "segments": segments}
    for language in ("en", "zh"):
        params, registry = settings[language]
        scores, long, _ = score_customers(rows, models, params, registry, pd.DataFrame())
        stripped = scores[SAID_COLUMNS].apply(
            lambda c: c.str.replace(r"\s*[(（][+-].*[)）]$", "", regex=True)
        )
        facts = stripped.apply(lambda c: c.str.split(r"[:：]", n=1, regex=True).str[-1])
        repeated = facts.apply(lambda row: row.dropna().duplicated().any(), axis=1)
        assert not repeated.any(), scores.loc[repeated, SAID_COLUMNS].head(3).to_string()
    counts = rows.set_index("customer_id")[["open_deal_count", "won_count_total"]]
    with_count = long.join(counts, on="customer_id")
    for count in ("open_deal_count", "won_count_total"):
        said = with_count[with_count[count].eq(0)]
        emptied = said["feature"].map(lambda f: getattr(registry.get(f), "absent_with", None))
        assert len(said) > 100 and not (emptied.eq(count) & said["effect"].ne(0)).any(), count
    none = scores[counts["open_deal_count"].eq(0).to_numpy()][SAID_COLUMNS]
    assert none.apply(lambda c: c.str.contains("没有在谈商机")).sum(axis=1).max() == 1


def test_every_fact_a_count_empties_is_a_feature():
    """The fold is wired by name: a renamed feature would quietly stop folding."""
    registry = reason_registry(
        FeatureParams.from_dict(base_parameters("features")["features"]).config
    )
    for fact in (*OPEN_DEAL_FACTS, *WON_DEAL_FACTS):
        assert fact in registry and registry[fact].absent_with in registry, fact
    windows = [f for f in registry if registry[f].absent_with and f not in WON_DEAL_FACTS]
    assert {f for f in windows if f.startswith("won_")} == {
        f"won_{what}_{w}d" for what in ("count", "revenue") for w in (90, 180, 365, 730)
    }
