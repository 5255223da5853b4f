"""The portable scoring model: loaded from the registry as a plain MLflow pyfunc, it turns
feature rows into predictions and tiers; on Spark through spark_udf when pyspark is there."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from tests.pipelines.conftest import bare_catalog, small_parameters, tracking_store
from tier_ml.models.candidates import BaselineModel
from tier_ml.pipelines.features import create_pipeline as features_pipeline
from tier_ml.pipelines.ingest import create_pipeline as ingest_pipeline
from tier_ml.pipelines.train import create_pipeline as train_pipeline
from tier_ml.portable import OUTPUT_COLUMNS, SPARK_RESULT_TYPE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, empty_mlflow_db):
    """Trained and registered once for the module, in a tracking store of its own."""
    folder = tmp_path_factory.mktemp("portable")
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        tracking_store(folder, monkeypatch, empty_mlflow_db),
    ):
        catalog = bare_catalog(small_parameters(), folder)
        with mlflow.start_run():
            pipeline = ingest_pipeline() + features_pipeline() + train_pipeline()
            SequentialRunner().run(pipeline, catalog)
        model_input = catalog["model_input_table"].load()
        rows = model_input[model_input["as_of"] == model_input["as_of"].max()]
        yield catalog["trained_models"].load(), rows


def test_pyfunc_scores_feature_rows_into_tiers(trained):
    models, rows = trained
    model = mlflow.pyfunc.load_model("models:/tier_ml_scoring@champion")
    out = model.predict(rows[models.features].head(300))
    assert list(out.columns) == OUTPUT_COLUMNS and len(out) == 300
    np.testing.assert_allclose(
        out["p_win"], models.champion.propensity.predict(rows[models.features].head(300))
    )
    assert set(out["tier"]) <= set("ABCD") and out["action"].notna().all()
    assert out["segment"].isin(list(models.segments.names_.values())).all()
    # a LightGBM champion ("stacked" on this data): its reasons are exact TreeSHAP, row by row
    assert not isinstance(models.champion.propensity, BaselineModel)
    assert out["reason_1"].notna().mean() > 0.9 and out["risk_1"].notna().mean() > 0.9


def test_pyfunc_runs_on_spark(trained, spark):
    models, rows = trained
    sample = rows[models.features].head(200).reset_index(drop=True)
    frame = spark.createDataFrame(
        sample.astype({c: "object" for c in sample.columns if sample[c].dtype == "str"})
    )
    udf = mlflow.pyfunc.spark_udf(
        spark, "models:/tier_ml_scoring@champion", result_type=SPARK_RESULT_TYPE
    )
    scored = frame.withColumn("out", udf(*frame.columns)).select("out.*").toPandas()
    expected = mlflow.pyfunc.load_model("models:/tier_ml_scoring@champion").predict(sample)
    assert list(scored.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(scored["p_win"], expected["p_win"], rtol=1e-9)
    said = [c for c in OUTPUT_COLUMNS if c not in ("p_win", "expected_revenue", "expected_value")]
    pd.testing.assert_frame_equal(
        scored[said].astype("str"), expected[said].astype("str"), check_dtype=False
    )
    assert scored["reason_1"].notna().mean() > 0.9  # the exact reasons came through Spark
