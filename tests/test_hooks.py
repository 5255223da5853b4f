"""A failed run's one-line reason."""

from tier_ml.contract import ContractError, Violation
from tier_ml.hooks import FailureSummaryHooks, one_line_reason


def test_one_line_reason_keeps_the_first_line_only():
    error = ContractError(
        [
            Violation(
                "deals",
                "deals.csv",
                "amount",
                "is numeric",
                2,
                __import__("pandas").DataFrame({"amount": ["x"]}),
            )
        ]
    )
    line = one_line_reason(error)
    assert "\n" not in line
    assert line == (
        "tier_ml run failed: ContractError: deals.csv: column 'amount' breaks rule "
        "'is numeric' in 2 row(s) (table deals); first rows:"
    )


def test_the_hook_prints_it_to_stderr(capsys):
    FailureSummaryHooks().on_pipeline_error(ValueError("ingest.source is 'x'"), {}, None, None)
    assert capsys.readouterr().err == "tier_ml run failed: ValueError: ingest.source is 'x'\n"
