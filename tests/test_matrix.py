"""The model matrix: training column order, numbers as float, text as the training categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tier_ml.models.matrix import learn_categories, to_matrix


def test_numbers_become_floats_and_text_the_categories_seen_in_training():
    training = pd.DataFrame({"region": ["EMEA", "APAC", None], "seats": [1, 2, 3]})
    categories = learn_categories(training)
    scored = pd.DataFrame(
        {
            "seats": pd.array([4, None, 6], dtype="Int64"),
            "won": [True, False, True],
            "amount": ["1.5", "n/a", None],  # numbers read as text
            "region": ["APAC", "LATAM", None],  # LATAM never seen in training
        },
        index=[10, 11, 12],
    )
    matrix = to_matrix(scored, ["region", "seats", "won", "amount"], categories)
    assert list(matrix.columns) == ["region", "seats", "won", "amount"]
    assert list(matrix.index) == [10, 11, 12]
    assert (matrix.dtypes.iloc[1:] == "float64").all()
    np.testing.assert_array_equal(matrix["seats"], [4.0, np.nan, 6.0])
    np.testing.assert_array_equal(matrix["won"], [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(matrix["amount"], [1.5, np.nan, np.nan])
    assert list(matrix["region"].cat.categories) == ["APAC", "EMEA"]
    assert matrix["region"].cat.codes.tolist() == [0, -1, -1]
