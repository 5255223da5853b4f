"""A failed run's one-line reason."""

import fcntl
import logging

from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Node, Pipeline

from tier_ml.contract import ContractError, Violation
from tier_ml.hooks import (
    FailureSummaryHooks,
    ScoreStoreLockHooks,
    one_line_reason,
    plain_own_errors,
)
from tier_ml.io.scores import ScoreStoreDataset, StoreLockedError


def contract_error() -> ContractError:
    rows = __import__("pandas").DataFrame({"amount": ["x"]})
    return ContractError([Violation("deals", "deals.csv", "amount", "is numeric", 2, rows)])


def test_one_line_reason_keeps_the_first_line_only():
    line = one_line_reason(contract_error())
    assert "\n" not in line
    assert line == (
        "tier_ml run failed: ContractError: deals.csv: column 'amount' breaks rule "
        "'is numeric' in 2 row(s) (table deals); first rows:"
    )


def test_the_hook_prints_it_to_stderr(capsys):
    FailureSummaryHooks().on_pipeline_error(ValueError("ingest.source is 'x'"), {}, None, None)
    assert capsys.readouterr().err == "tier_ml run failed: ValueError: ingest.source is 'x'\n"


def lock_is_free(root) -> bool:
    """Whether another open file could take the store's lock now (flock is per open file)."""
    with open(root / ".lock") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_a_run_that_writes_the_score_store_holds_its_lock_to_the_end(tmp_path):
    root = tmp_path / "scores"
    catalog = DataCatalog(
        {
            "score_store": ScoreStoreDataset(str(root), str(tmp_path / "tier_ml.duckdb")),
            "other": MemoryDataset(),
        }
    )
    pipeline = Pipeline([Node(lambda x: x, "x", "score_store", name="score")])
    hooks = ScoreStoreLockHooks()
    hooks.before_pipeline_run({}, pipeline, catalog)
    assert not lock_is_free(root)
    hooks.on_pipeline_error(ValueError("x"), {}, pipeline, catalog)
    assert lock_is_free(root)
    hooks.before_pipeline_run({}, pipeline, catalog)
    hooks.after_pipeline_run({}, {}, pipeline, catalog)
    assert lock_is_free(root)
    hooks.before_pipeline_run({}, Pipeline([Node(lambda x: x, "x", "other", name="o")]), catalog)
    assert lock_is_free(root)


def test_own_errors_print_their_message_alone_and_other_errors_keep_the_traceback(capsys):
    handed: list[BaseException] = []
    excepthook = plain_own_errors(lambda kind, error, traceback: handed.append(error))
    error = contract_error()
    excepthook(ContractError, error, None)
    assert capsys.readouterr().err == f"ContractError: {error}\n" and handed == []
    try:
        raise DatasetError("Failed while saving data") from StoreLockedError("locked by pid 1")
    except DatasetError as wrapped:
        excepthook(DatasetError, wrapped, None)
    assert capsys.readouterr().err == "DatasetError: Failed while saving data\n"
    bug = KeyError("tier")
    excepthook(KeyError, bug, None)
    assert handed == [bug] and capsys.readouterr().err == ""
    logging.getLogger("tier_ml").setLevel(logging.DEBUG)
    try:
        excepthook(ContractError, error, None)
    finally:
        logging.getLogger("tier_ml").setLevel(logging.NOTSET)
    assert handed == [bug, error]
