"""One name per export (a business unit, a data source) that keeps its outputs apart.

`namespace` in `conf/<env>/globals.yml` names the data folder (through the `data_root`
resolver in the catalog), the MLflow experiments (`mlflow.yml`) and the registered models
(`<namespace>_propensity`, ...), so two exports in one checkout share none of them.
"""

from __future__ import annotations

import re

DEFAULT_NAMESPACE = "tier_ml"
DATA = "data"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_namespace(namespace: str) -> str:
    """A namespace becomes a folder and part of MLflow names: letters, digits, `_` and `-`."""
    if not isinstance(namespace, str) or not _NAME.fullmatch(namespace):
        raise ValueError(
            f"namespace {namespace!r} in globals.yml: use letters, digits, '_' and '-', "
            "starting with a letter or digit (it names a data folder and MLflow models)"
        )
    return namespace


def data_root(namespace: str) -> str:
    """`data/<namespace>`; the default namespace keeps `data/` itself, where its outputs
    have always been."""
    check_namespace(namespace)
    return DATA if namespace == DEFAULT_NAMESPACE else f"{DATA}/{namespace}"


def registered_name(namespace: str, kind: str) -> str:
    """The MLflow registered-model name of one kind of model: `tier_ml_propensity`."""
    return f"{check_namespace(namespace)}_{kind}"
