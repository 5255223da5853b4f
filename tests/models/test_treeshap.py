"""The compiled TreeSHAP equals LightGBM's own `pred_contrib` on every row: on the project's
model (categorical splits, missing values), on deep trees with every missing-value rule, on an
early-stopped estimator, and where it hands over to LightGBM."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from tier_ml import treeshap
from tier_ml.models import what_if
from tier_ml.models.matrix import model_columns
from tier_ml.models.propensity import PropensityModel

TOLERANCE = 1e-9  # the issue asks 1e-6; the tables agree to rounding


def _mixed_data(rows: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with NaNs and exact zeros, a wide categorical (more than 32 codes: two bitset
    words) and a narrow one, and an outcome that depends on all of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, rows),
            "visits": rng.poisson(2, rows).astype(float),
            "score": rng.normal(size=rows),
            "region": pd.Categorical(rng.choice(list("NSEW"), rows)),
            "product": pd.Categorical(rng.integers(0, 40, rows).astype(str)),
        }
    )
    frame.loc[rng.random(rows) < 0.15, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "score"] = 0.0
    signal = (
        0.02 * frame["amount"].fillna(-20)
        + 0.5 * frame["visits"]
        + frame["score"]
        + frame["region"].cat.codes
        + (frame["product"].cat.codes % 7 == 0)
    )
    return frame, (signal + rng.normal(size=rows) > signal.median()).to_numpy(int)


def _assert_equal_to_lightgbm(model: lgb.LGBMModel, frame: pd.DataFrame) -> None:
    ours = treeshap.exact_contributions(model, frame)
    theirs = model.predict(frame, pred_contrib=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(ours.sum(axis=1), model.predict(frame, raw_score=True), atol=1e-9)


@pytest.mark.parametrize(
    "settings",
    [
        {"max_depth": 8, "num_leaves": 63},  # deep: 8 distinct features per path possible
        {"max_depth": 6, "num_leaves": 40, "zero_as_missing": True},
        {"max_depth": 6, "num_leaves": 40, "use_missing": False},  # NaN read as 0
        {"max_depth": 4, "num_leaves": 16, "max_cat_to_onehot": 64},  # one-vs-rest categories
    ],
    ids=["deep", "zero-as-missing", "no-missing", "one-hot-categories"],
)
def test_equals_pred_contrib_on_every_row(settings):
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(
        n_estimators=60, min_child_samples=5, verbosity=-1, random_state=1, **settings
    ).fit(frame, y)
    assert treeshap.booster_trees(model) is not None  # the fast path, not the hand-over
    test, _ = _mixed_data(rows=2000, seed=1)
    _assert_equal_to_lightgbm(model, test)


@pytest.mark.parametrize("feature", ["amount", "product"])
def test_a_raw_score_with_one_feature_changed_equals_lightgbms(feature):
    """`what_if` re-walks only the trees that split on the changed feature (here into NaN
    and new categories too); every row must score as LightGBM scores the changed row."""
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(
        n_estimators=60,
        min_child_samples=5,
        verbosity=-1,
        random_state=1,
        max_depth=8,
        num_leaves=63,
    ).fit(frame, y)
    test, _ = _mixed_data(rows=2000, seed=1)
    at = np.arange(1, len(test), 3)
    changed = test.iloc[at].copy()
    if feature == "amount":
        changed["amount"] = np.where(np.arange(len(at)) % 5 == 0, np.nan, changed["amount"] * 2)
        values = changed["amount"].to_numpy()
    else:  # other categories, given as the booster's own codes
        changed["product"] = pd.Categorical(
            changed["product"].to_numpy()[::-1], categories=test["product"].cat.categories
        )
        trained = model.booster_.pandas_categorical[1]
        values = changed["product"].cat.set_categories(trained).cat.codes.to_numpy(float)
    ours = what_if.raw_what_if(model, test)(feature, at, values)
    np.testing.assert_allclose(ours, model.predict(changed, raw_score=True), rtol=0, atol=1e-9)
    assert np.abs(ours - model.predict(test.iloc[at], raw_score=True)).max() > 0.1


@pytest.mark.parametrize(
    ("rows", "threads", "blocks"),
    [(100_000, 2, 2), (140_000, 2, 4), (1_000_000, 2, 16), (5, 2, 2), (0, 2, 0), (10, 1, 1)],
)
def test_blocks_are_shared_evenly_by_the_threads(rows, threads, blocks):
    """At most ROWS_PER_TASK rows a block, in a number of blocks the threads share evenly
    (the last may be shorter by less than one row per block)."""
    size = treeshap.even_blocks(rows, threads)
    assert size <= treeshap.ROWS_PER_TASK and -(-rows // size) == blocks
    assert rows == 0 or blocks * size - rows < blocks


def test_no_rows_give_no_contributions():
    frame, y = _mixed_data(rows=500)
    model = lgb.LGBMClassifier(n_estimators=5, verbosity=-1).fit(frame, y)
    assert treeshap.exact_contributions(model, frame.head(0)).shape == (0, frame.shape[1] + 1)


def test_the_projects_model_is_explained_exactly(model_input):
    """PropensityModel with the shipped settings on the synthetic CRM's point-in-time
    features, whose categoricals (industry, region) split by category sets."""
    features = model_columns(model_input)
    cutoffs = sorted(model_input["as_of"].unique())
    fit = model_input[model_input["as_of"] < cutoffs[-4]]
    stop = model_input[model_input["as_of"].isin(cutoffs[-4:-2])]
    model = PropensityModel(seed=2).fit(
        fit[features], fit["won_any"], stop[features], stop["won_any"]
    )
    latest = model_input[model_input["as_of"] == cutoffs[-1]][features]
    dump = model.booster_.booster_.dump_model()
    assert any(
        "||" in str(node.get("threshold"))
        for tree in dump["tree_info"]
        for node in _nodes(tree["tree_structure"])
    )  # the case the other fast explainers could not handle
    _assert_equal_to_lightgbm(model.booster_, model.matrix(latest))
    np.testing.assert_allclose(
        model.contributions(latest),
        model.booster_.predict(model.matrix(latest), pred_contrib=True),
        atol=TOLERANCE,
    )


def _nodes(node: dict) -> list[dict]:
    if "split_index" not in node:
        return []
    return [node, *_nodes(node["left_child"]), *_nodes(node["right_child"])]


def test_an_early_stopped_estimator_is_explained_up_to_its_best_iteration():
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(n_estimators=400, verbosity=-1, random_state=1).fit(
        frame[:2000],
        y[:2000],
        eval_X=frame[2000:],
        eval_y=y[2000:],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < model.best_iteration_ < 400
    _assert_equal_to_lightgbm(model, frame)


def test_trees_beyond_the_fast_path_are_explained_by_lightgbm():
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(
        n_estimators=5, num_leaves=120, min_child_samples=2, verbosity=-1, random_state=1
    ).fit(frame, y)
    assert treeshap.booster_trees(model) is None  # more than 64 splits in a tree
    _assert_equal_to_lightgbm(model, frame)


def test_the_result_does_not_depend_on_the_thread_count():
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(n_estimators=30, verbosity=-1, random_state=1).fit(frame, y)
    trees = treeshap.booster_trees(model)
    x = treeshap.lightgbm_matrix(frame, model.booster_.pandas_categorical)
    np.testing.assert_array_equal(
        treeshap.contributions(trees, x, threads=1), treeshap.contributions(trees, x, threads=2)
    )


def test_an_estimator_refitted_in_place_is_explained_with_its_new_trees():
    frame, y = _mixed_data()
    model = lgb.LGBMClassifier(n_estimators=20, verbosity=-1, random_state=1).fit(frame, y)
    treeshap.exact_contributions(model, frame)
    model.fit(frame, 1 - y)  # the same estimator object, other trees
    _assert_equal_to_lightgbm(model, frame)
