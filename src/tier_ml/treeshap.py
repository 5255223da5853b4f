"""Exact path-dependent TreeSHAP for a LightGBM booster, many times faster than LightGBM's own.

LightGBM's `pred_contrib` (and `shap.TreeExplainer`, which calls it) walks every tree for every
row with the EXTEND/UNWIND recursion, O(leaves x depth^2) per tree and row. Two facts about the
model's structure make most of that work redundant:

- A leaf's contribution to the d distinct features on its path depends on the row only through
  d bits: whether the row satisfies that path's conditions on each feature. So each leaf's exact
  contributions for all 2^d bit patterns are tabulated once per model,

      phi_k(s) = v * (s_k - z_k) * prod_{m in B} z_m * sum_j w(j, d) e_{|A|-j}(z_A),

  (v: leaf value, z: the path's cover fractions, A / B: the other path features with s_m = 1 / 0,
  e: elementary symmetric polynomials, w(j, d) = j! (d-j-1)! / d!).
- A row's whole contribution from one tree depends only on its decisions at that tree's nodes:
  one 64-bit word. Rows share few distinct words, so per block of rows and per tree the
  contributions are summed from the tables once per distinct word and then added to its rows.

Decisions follow LightGBM's `Tree::Decision` (missing types None / Zero / NaN, default direction,
categorical bitsets), so the values equal `pred_contrib` up to floating-point rounding. Models
outside this scheme (several trees per iteration, linear trees, more than 64 splits in a tree,
tables over `MAX_TABLE_VALUES`) are explained by `pred_contrib` itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd
from numba import njit, prange

from tier_ml.threads import machine_threads

MAX_TABLE_VALUES = 50_000_000  # 400 MB of float64: beyond this, pred_contrib is used instead
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold, a float
MISSING = {"None": 0, "Zero": 1, "NaN": 2}
ROWS_PER_TASK = 65536  # at most, per parallel task: larger blocks share more decision words
MAX_SPLITS_PER_TREE = 64  # a row's decisions in one tree are one 64-bit word


@dataclass(frozen=True)
class CompiledTrees:
    """A booster's trees as flat arrays: nodes, the features each tree uses, and per leaf its
    path conditions (one bit mask per distinct feature) and its pattern table."""

    n_features: int
    bias: float
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_categorical: np.ndarray
    node_missing: np.ndarray
    node_default_left: np.ndarray
    node_category_start: np.ndarray
    node_category_count: np.ndarray
    category_words: np.ndarray
    node_children: np.ndarray  # per node: left, right (a node in the tree, or ~ a leaf)
    tree_node_start: np.ndarray
    tree_leaf_start: np.ndarray
    tree_feature_start: np.ndarray
    tree_features: np.ndarray
    leaf_depth: np.ndarray
    leaf_slot_start: np.ndarray
    slot_feature: np.ndarray
    slot_mask: np.ndarray
    slot_want: np.ndarray
    leaf_table_start: np.ndarray
    table: np.ndarray
    leaf_value: np.ndarray


@dataclass(frozen=True)
class _Leaf:
    value: float
    features: list[int]  # distinct path features, first seen first
    zeros: list[float]  # their cover fractions: the product over repeated splits
    masks: list[int]  # per feature: the bits of the tree's nodes that test it on this path
    wants: list[int]  # per feature: which of those bits must be set (went left)


def _leaf(value: float, path: list[tuple[int, bool, int, float]]) -> _Leaf:
    features: list[int] = []
    zeros: list[float] = []
    masks: list[int] = []
    wants: list[int] = []
    for bit, went_left, feature, share in path:
        if feature not in features:
            features.append(feature)
            zeros.append(1.0)
            masks.append(0)
            wants.append(0)
        slot = features.index(feature)
        zeros[slot] *= share
        masks[slot] |= 1 << bit
        wants[slot] |= int(went_left) << bit
    return _Leaf(value, features, zeros, masks, wants)


def _tree(root: dict) -> tuple[list[dict], list[_Leaf]]:
    """A tree's internal nodes (depth first; a node's position is its bit), each with its
    children (`children`: a node's position, or ~ a leaf's), and its leaves."""
    nodes: list[dict] = []
    leaves: list[_Leaf] = []

    def walk(node: dict, path: list) -> int:
        if "split_index" not in node:
            leaves.append(_leaf(node["leaf_value"], path))
            return ~(len(leaves) - 1)
        bit = len(nodes)
        nodes.append(node)
        children = []
        for side, went_left in (("left_child", True), ("right_child", False)):
            child = node[side]
            share = child.get("internal_count", child.get("leaf_count", 0)) / node["internal_count"]
            children.append(walk(child, [*path, (bit, went_left, node["split_feature"], share)]))
        nodes[bit] = {**node, "children": children}
        return bit

    walk(root, [])
    return nodes, leaves


def _category_bitset(threshold: str) -> list[int]:
    """'1||3||40' (the categories sent left) as LightGBM's 32-bit words."""
    categories = [int(c) for c in str(threshold).split("||")]
    words = [0] * (max(categories) // 32 + 1)
    for c in categories:
        words[c // 32] |= 1 << (c % 32)
    return words


def _node_arrays(nodes: list[dict]) -> dict[str, np.ndarray]:
    categorical = [n["decision_type"] == "==" for n in nodes]
    bitsets = [
        _category_bitset(n["threshold"]) if c else []
        for n, c in zip(nodes, categorical, strict=True)
    ]
    counts = np.array([len(b) for b in bitsets], dtype=np.int64)
    return {
        "node_feature": np.array([n["split_feature"] for n in nodes], dtype=np.int64),
        "node_threshold": np.array(
            [0.0 if c else float(n["threshold"]) for n, c in zip(nodes, categorical, strict=True)]
        ),
        "node_categorical": np.array(categorical, dtype=np.bool_),
        "node_missing": np.array([MISSING[n["missing_type"]] for n in nodes], dtype=np.int8),
        "node_default_left": np.array([n["default_left"] for n in nodes], dtype=np.bool_),
        "node_category_start": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        "node_category_count": counts,
        "category_words": np.array([w for b in bitsets for w in b], dtype=np.uint32),
        "node_children": np.array([n["children"] for n in nodes], dtype=np.int64).reshape(-1, 2),
    }


def _has_linear_leaves(node: dict) -> bool:
    """Linear trees (`linear_tree: true`) predict a linear model per leaf, not a constant."""
    if "split_index" not in node:
        return "leaf_coeff" in node
    return _has_linear_leaves(node["left_child"]) or _has_linear_leaves(node["right_child"])


def _expected_value(root: dict, leaves: list[dict]) -> float:
    """LightGBM's `Tree::ExpectedValue`: leaf outputs weighted by their training counts."""
    if "split_index" not in root:
        return float(root["leaf_value"])
    return sum(leaf["leaf_count"] / root["internal_count"] * leaf["leaf_value"] for leaf in leaves)


def _leaf_nodes(node: dict) -> list[dict]:
    if "split_index" not in node:
        return [node]
    return _leaf_nodes(node["left_child"]) + _leaf_nodes(node["right_child"])


def compile_trees(dump: dict[str, Any]) -> CompiledTrees | None:
    """Flatten `booster.dump_model()`; None where the fast path does not apply: several trees
    per iteration, linear trees, a tree with more than 64 splits or tables too large."""
    roots = [t["tree_structure"] for t in dump["tree_info"]]
    if dump.get("num_tree_per_iteration", 1) != 1 or any(_has_linear_leaves(r) for r in roots):
        return None
    trees = [_tree(root) for root in roots]
    if any(len(nodes) > MAX_SPLITS_PER_TREE for nodes, _ in trees):
        return None
    leaves = [leaf for _, tree_leaves in trees for leaf in tree_leaves]
    depths = np.array([len(leaf.features) for leaf in leaves], dtype=np.int64)
    sizes = depths * (2**depths)
    if sizes.sum() > MAX_TABLE_VALUES:
        return None
    used = [sorted({f for leaf in tree_leaves for f in leaf.features}) for _, tree_leaves in trees]
    local = [
        used[t].index(f)
        for t, (_, tree_leaves) in enumerate(trees)
        for leaf in tree_leaves
        for f in leaf.features
    ]
    slot_start = np.concatenate([[0], np.cumsum(depths)]).astype(np.int64)
    table_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    values = np.array([leaf.value for leaf in leaves], dtype=np.float64)
    table = _pattern_tables(
        values,
        depths,
        slot_start,
        np.array([z for leaf in leaves for z in leaf.zeros], dtype=np.float64),
        table_start,
    )

    def starts(counts: list[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    return CompiledTrees(
        n_features=len(dump["feature_names"]),
        bias=sum(_expected_value(root, _leaf_nodes(root)) for root in roots),
        **_node_arrays([node for nodes, _ in trees for node in nodes]),
        tree_node_start=starts([len(nodes) for nodes, _ in trees]),
        tree_leaf_start=starts([len(tree_leaves) for _, tree_leaves in trees]),
        tree_feature_start=starts([len(u) for u in used]),
        tree_features=np.array([f for u in used for f in u], dtype=np.int64),
        leaf_depth=depths,
        leaf_slot_start=slot_start,
        slot_feature=np.array(local, dtype=np.int64),
        slot_mask=np.array([m for leaf in leaves for m in leaf.masks], dtype=np.uint64),
        slot_want=np.array([w for leaf in leaves for w in leaf.wants], dtype=np.uint64),
        leaf_table_start=table_start,
        table=table,
        leaf_value=values,
    )


@njit(cache=True)
def _shapley_weights(d: int) -> np.ndarray:
    """w(j, d) = j! (d - j - 1)! / d!: the weight of a coalition of j other features."""
    w = np.empty(max(d, 1))
    for j in range(d):
        w[j] = np.exp(
            np.log(np.arange(1, j + 1)).sum()
            + np.log(np.arange(1, d - j)).sum()
            - np.log(np.arange(1, d + 1)).sum()
        )
    return w


@njit(cache=True)
def _pattern_tables(
    values: np.ndarray,
    depths: np.ndarray,
    feature_start: np.ndarray,
    zeros: np.ndarray,
    table_start: np.ndarray,
) -> np.ndarray:
    """For every leaf, pattern s and path feature k: the leaf's exact contribution to k."""
    table = np.zeros(table_start[-1])
    for leaf in range(len(values)):
        d = depths[leaf]
        if d == 0:
            continue
        z = zeros[feature_start[leaf] : feature_start[leaf] + d]
        w = _shapley_weights(d)
        e = np.empty(d + 1)
        for s in range(2**d):
            for k in range(d):
                e[:] = 0.0
                e[0] = 1.0
                size, outside = 0, 1.0
                for m in range(d):
                    if m == k:
                        continue
                    if (s >> m) & 1:
                        size += 1
                        for q in range(size, 0, -1):
                            e[q] += e[q - 1] * z[m]
                    else:
                        outside *= z[m]
                total = 0.0
                for j in range(size + 1):
                    total += w[j] * e[size - j]
                one = float((s >> k) & 1)
                table[table_start[leaf] + s * d + k] = values[leaf] * (one - z[k]) * outside * total
    return table


@njit(cache=True, inline="always")
def _goes_left(
    x: float,
    threshold: float,
    categorical: bool,
    missing: int,
    default_left: bool,
    words: np.ndarray,
    start: int,
    count: int,
) -> bool:
    """LightGBM's Tree::Decision for one node."""
    if categorical:
        if np.isnan(x) or x < 0:
            return False
        c = int(x)
        word = c // 32
        if word >= count:
            return False
        return (words[start + word] >> np.uint32(c % 32)) & np.uint32(1) == np.uint32(1)
    if np.isnan(x) and missing != 2:
        x = 0.0
    if (missing == 1 and -ZERO_THRESHOLD <= x <= ZERO_THRESHOLD) or (missing == 2 and np.isnan(x)):
        return default_left
    return x <= threshold


@njit(cache=True)
def _distinct(words: np.ndarray, keys: np.ndarray, slots: np.ndarray, ids: np.ndarray) -> int:
    """Number the distinct words by open addressing: ids[i] is words[i]'s number, keys[:n]
    the n distinct words in order of first appearance."""
    slots[:] = -1
    size = len(slots)
    n = 0
    for i in range(len(words)):
        word = words[i]
        h = (word * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
        h = int(h) & (size - 1)
        while slots[h] >= 0 and keys[slots[h]] != word:
            h = (h + 1) & (size - 1)
        if slots[h] < 0:
            slots[h] = n
            keys[n] = word
            n += 1
        ids[i] = slots[h]
    return n


@njit(cache=True)
def _block_decisions(
    columns: np.ndarray, first: int, last: int, nodes: tuple, words: np.ndarray
) -> None:
    """Every row's decisions at a tree's nodes as words (bit j set where node j goes left),
    node by node down the block's feature columns: one column streamed per node."""
    feature, threshold, categorical, missing, default_left, category_words, start, count = nodes
    words[:] = 0
    for node in range(first, last):
        column = columns[feature[node]]
        bit = np.uint64(1) << np.uint64(node - first)
        for r in range(len(words)):
            if _goes_left(
                column[r],
                threshold[node],
                categorical[node],
                missing[node],
                default_left[node],
                category_words,
                start[node],
                count[node],
            ):
                words[r] |= bit


@njit(parallel=True, cache=True)
def _explain(
    x: np.ndarray,
    nodes: tuple,
    tree_node_start: np.ndarray,
    tree_leaf_start: np.ndarray,
    tree_feature_start: np.ndarray,
    tree_features: np.ndarray,
    leaf_depth: np.ndarray,
    leaf_slot_start: np.ndarray,
    slot_feature: np.ndarray,
    slot_mask: np.ndarray,
    slot_want: np.ndarray,
    leaf_table_start: np.ndarray,
    table: np.ndarray,
    block: int,
    out: np.ndarray,
) -> None:
    """Per block of `block` rows and per tree: each row's decision word; the contributions of
    each distinct word, summed over the tree's leaves from their tables; then added to the
    rows. A block is held by feature (its columns and its contributions), so a node reads
    one column and a tree adds to the columns of its own features: streams the cache keeps."""
    n, n_features = x.shape
    n_tasks = (n + block - 1) // block
    widest = 1
    for t in range(len(tree_feature_start) - 1):
        widest = max(widest, tree_feature_start[t + 1] - tree_feature_start[t])
    hash_size = 1
    while hash_size < 2 * block:
        hash_size *= 2
    for task in prange(n_tasks):
        first_row = task * block
        rows = min(n, first_row + block) - first_row
        columns = np.ascontiguousarray(x[first_row : first_row + rows].T)
        summed = np.zeros((n_features, rows))
        words = np.empty(rows, dtype=np.uint64)
        keys = np.empty(rows, dtype=np.uint64)
        ids = np.empty(rows, dtype=np.int64)
        slots = np.empty(hash_size, dtype=np.int64)
        phi = np.empty((widest, rows))
        for t in range(len(tree_node_start) - 1):
            _block_decisions(columns, tree_node_start[t], tree_node_start[t + 1], nodes, words)
            distinct = _distinct(words, keys, slots, ids)
            used = tree_feature_start[t + 1] - tree_feature_start[t]
            phi[:used, :distinct] = 0.0
            for u in range(distinct):
                word = keys[u]
                for leaf in range(tree_leaf_start[t], tree_leaf_start[t + 1]):
                    d = leaf_depth[leaf]
                    first_slot = leaf_slot_start[leaf]
                    pattern = 0
                    for k in range(d):
                        if (word ^ slot_want[first_slot + k]) & slot_mask[first_slot + k] == 0:
                            pattern |= 1 << k
                    base = leaf_table_start[leaf] + pattern * d
                    for k in range(d):
                        phi[slot_feature[first_slot + k], u] += table[base + k]
            for q in range(used):
                target = summed[tree_features[tree_feature_start[t] + q]]
                contribution = phi[q]
                for r in range(rows):
                    target[r] += contribution[ids[r]]
        out[first_row : first_row + rows, :n_features] = summed.T


def lightgbm_matrix(frame: pd.DataFrame, pandas_categorical: list | None) -> np.ndarray:
    """The float64 matrix LightGBM predicts on: categoricals as their training codes (unknown or
    missing: NaN), in the order the booster stored their categories."""
    columns = {}
    categorical = iter(pandas_categorical or [])
    for name, values in frame.items():
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.set_categories(next(categorical)).cat.codes.to_numpy()
            columns[name] = np.where(codes < 0, np.nan, codes.astype(np.float64))
        else:
            columns[name] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.column_stack(list(columns.values())) if columns else np.empty((len(frame), 0))


@njit(cache=True)
def _leaf_value(
    x: np.ndarray,
    row: int,
    column: int,
    value: float,
    tree: int,
    nodes: tuple,
    node_children: np.ndarray,
    tree_node_start: np.ndarray,
    tree_leaf_start: np.ndarray,
    leaf_value: np.ndarray,
) -> float:
    """The value of the leaf a row reaches in one tree, root to leaf, with its `column` read
    as `value`."""
    feature, threshold, categorical, missing, default_left, words, start, count = nodes
    first = tree_node_start[tree]
    node = 0 if tree_node_start[tree + 1] > first else -1
    while node >= 0:
        i = first + node
        f = feature[i]
        left = _goes_left(
            value if f == column else x[row, f],
            threshold[i],
            categorical[i],
            missing[i],
            default_left[i],
            words,
            start[i],
            count[i],
        )
        node = node_children[i, 0] if left else node_children[i, 1]
    return leaf_value[tree_leaf_start[tree] + ~node]


@njit(parallel=True, cache=True)
def _leaf_changes(
    x: np.ndarray,
    at: np.ndarray,
    column: int,
    values: np.ndarray,
    walked: np.ndarray,
    nodes: tuple,
    node_children: np.ndarray,
    tree_node_start: np.ndarray,
    tree_leaf_start: np.ndarray,
    leaf_value: np.ndarray,
    out: np.ndarray,
) -> None:
    """Per row `at[i]`, how much its leaf values in the `walked` trees change when its
    `column` becomes `values[i]`."""
    for i in prange(len(at)):
        row = at[i]
        change = 0.0
        for t in walked:
            tree = (t, nodes, node_children, tree_node_start, tree_leaf_start, leaf_value)
            change += _leaf_value(x, row, column, values[i], *tree) - _leaf_value(
                x, row, column, x[row, column], *tree
            )
        out[i] = change


def _node_tuple(trees: CompiledTrees) -> tuple:
    return (
        trees.node_feature,
        trees.node_threshold,
        trees.node_categorical,
        trees.node_missing,
        trees.node_default_left,
        trees.category_words,
        trees.node_category_start,
        trees.node_category_count,
    )


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """numba's thread count for one call: `threads`, else the machine's
    (`threads.machine_threads`)."""
    previous = numba.get_num_threads()
    wanted = threads or machine_threads()
    numba.set_num_threads(max(1, min(wanted, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def trees_splitting_on(trees: CompiledTrees, feature: int) -> np.ndarray:
    """The trees with a split on `feature`: the only ones whose leaf can change with it."""
    starts = trees.tree_feature_start
    return np.array(
        [
            t
            for t in range(len(starts) - 1)
            if feature in trees.tree_features[starts[t] : starts[t + 1]]
        ],
        dtype=np.int64,
    )


def leaf_changes(
    trees: CompiledTrees,
    x: np.ndarray,
    at: np.ndarray,
    column: int,
    values: np.ndarray,
    threads: int | None = None,
) -> np.ndarray:
    """Per row `at[i]` of `x` (the matrix LightGBM predicts on), the change in its raw score
    when its `column` becomes `values[i]`: only the trees that split on the column are
    walked, twice, and `x` is not copied."""
    out = np.empty(len(at))
    with _threads(threads):
        _leaf_changes(
            x,
            np.asarray(at, dtype=np.int64),
            column,
            np.asarray(values, dtype=np.float64),
            trees_splitting_on(trees, column),
            _node_tuple(trees),
            trees.node_children,
            trees.tree_node_start,
            trees.tree_leaf_start,
            trees.leaf_value,
            out,
        )
    return out


def even_blocks(rows: int, threads: int) -> int:
    """Rows per block: at most `ROWS_PER_TASK`, in a number of blocks that the threads share
    evenly (140,000 rows in blocks of 65,536 would leave one of two threads a block of 8,928
    and idle for most of the call)."""
    per_round = max(1, threads) * ROWS_PER_TASK
    blocks = max(1, threads) * max(1, -(-rows // per_round))
    return max(1, -(-rows // blocks))


def contributions(trees: CompiledTrees, x: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Exact TreeSHAP on the raw scale: one column per feature, the expected value last."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.zeros((len(x), trees.n_features + 1))
    with _threads(threads):
        block = even_blocks(len(x), numba.get_num_threads())
        _explain(
            x,
            _node_tuple(trees),
            trees.tree_node_start,
            trees.tree_leaf_start,
            trees.tree_feature_start,
            trees.tree_features,
            trees.leaf_depth,
            trees.leaf_slot_start,
            trees.slot_feature,
            trees.slot_mask,
            trees.slot_want,
            trees.leaf_table_start,
            trees.table,
            block,
            out,
        )
    out[:, -1] = trees.bias
    return out


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def booster_trees(model: Any) -> CompiledTrees | None:
    """The compiled trees a fitted LightGBM estimator predicts with (up to its best iteration,
    as its `predict` does), built once per fitted booster (a refit makes a new one, so stale
    trees are never used) and never pickled with the estimator."""
    booster = model.booster_
    if booster not in _COMPILED:
        best = getattr(model, "best_iteration_", None) or None
        _COMPILED[booster] = compile_trees(booster.dump_model(num_iteration=best))
    return _COMPILED[booster]


def exact_contributions(model: Any, matrix: pd.DataFrame) -> np.ndarray:
    """TreeSHAP of a LightGBM estimator on the raw scale, equal to its `pred_contrib`: by the
    compiled trees where they apply, else by LightGBM itself. Threads follow the estimator's
    `n_jobs` (the machine's cores unless the user set it)."""
    trees = booster_trees(model)
    if trees is None:
        return model.predict(matrix, pred_contrib=True)
    x = lightgbm_matrix(matrix, model.booster_.pandas_categorical)
    return contributions(trees, x, estimator_threads(model))


def estimator_threads(model: Any) -> int | None:
    """The threads a LightGBM estimator was given (`n_jobs` > 0), else None: the machine's."""
    jobs = getattr(model, "n_jobs", None)
    return jobs if jobs and jobs > 0 else None
