"""Paired comparison of two policies on the same test images: discordant counts and McNemar's
exact test.

Two accuracies measured on the same images differ by `(n01 - n10) / N`, where `n01` counts the
images only the learned policy gets right and `n10` those only the other one does; the images
both get right (or both wrong) say nothing about which is better. Under the null hypothesis that
the two are equally good, each of the `n = n01 + n10` discordant images is equally likely to fall
either way, so `n01 ~ Binomial(n, 1/2)`; the exact two-sided McNemar p-value is
`min(1, 2 * P[X <= min(n01, n10)])`. It is computed here with exact integers.

Rows measured on another network (the stage-1 BagNet) are still paired image by image with the
learned policy on the final network: both ran on the same batches in one pass.
"""

import numpy as np

from saccader_tf.evaluation.stage1_network import FINAL

LEARNED = "learned"
"""The policy every other row is paired with."""
PAIRED_LEGEND = (
    "only_learned / only_this: test images only the learned policy (final network) / only this "
    "row gets right; p: exact two-sided McNemar test of the two on the same images"
)
"""The legend line under a table with paired columns."""


def mcnemar_p_value(n01, n10):
    """Exact two-sided McNemar p-value of `n01` against `n10` discordant images.

    `min(1, 2 * sum_{k <= min(n01, n10)} C(n, k) / 2^n)` with `n = n01 + n10`, in exact integer
    arithmetic (one rounding, at the final division); 1.0 when `n = 0`.

    Args:
        n01: images only the first policy gets right (int >= 0).
        n10: images only the second policy gets right (int >= 0).

    Returns:
        A float in (0, 1] (it may underflow to 0.0 for astronomically lopsided counts).

    Example:
        >>> round(mcnemar_p_value(10, 2), 5)  # 2 * (1 + 12 + 66) / 4096
        0.03857
    """
    n01, n10 = int(n01), int(n10)
    if n01 < 0 or n10 < 0:
        raise ValueError(f"Counts must be >= 0. Received: n01={n01}, n10={n10}")
    n, low = n01 + n10, min(n01, n10)
    if 2 * low >= n:  # n01 == n10 (or n == 0): the tail holds at least half the mass
        return 1.0
    term, tail = 1, 1  # C(n, 0)
    for k in range(low):
        term = term * (n - k) // (k + 1)  # C(n, k + 1), exact
        tail += term
    return min(1.0, (2 * tail) / (1 << n))


def paired_counts(learned, other):
    """`(n01, n10)`: images only `learned` gets right, images only `other` gets right.

    Args:
        learned: bool `[N]`, the learned policy's per-image top-1 hits.
        other: bool `[N]`, another policy's hits on the same images, in the same order.
    """
    learned, other = np.asarray(learned, bool), np.asarray(other, bool)
    if learned.shape != other.shape:
        raise ValueError(
            "Paired hits must cover the same images. "
            f"Received: shapes {learned.shape} and {other.shape}"
        )
    return int(np.sum(learned & ~other)), int(np.sum(~learned & other))


def paired_comparison(learned, other):
    """`{"only_learned": n01, "only_this": n10, "p_value": p}` of two per-image hit vectors
    (`paired_counts`, `mcnemar_p_value`)."""
    n01, n10 = paired_counts(learned, other)
    return {"only_learned": n01, "only_this": n10, "p_value": mcnemar_p_value(n01, n10)}


def paired_with_learned(per_image, column=-1):
    """The paired comparison of every row with the learned policy on the final network.

    Args:
        per_image: `{network: {policy: bool [N, T]}}` (`run_batches`'s `PER_IMAGE` totals; `full`
            is `[N, 1]`).
        column: which T to compare: an index into the T axis (`-1`: the largest T). Policies
            without glimpses (one column) always use their only column.

    Returns:
        `{network: {policy: paired_comparison}}` for every row but the learned one on `"final"`;
        `{}` when there is no learned policy on `"final"`.
    """
    final = per_image.get(FINAL, {})
    if LEARNED not in final:
        return {}
    learned = np.asarray(final[LEARNED])[:, column]
    result = {}
    for network, rows in per_image.items():
        for name, hits in rows.items():
            if network == FINAL and name == LEARNED:
                continue
            hits = np.asarray(hits)
            own = hits[:, 0] if hits.shape[1] == 1 else hits[:, column]
            result.setdefault(network, {})[name] = paired_comparison(learned, own)
    return result


def format_p_value(p):
    """`p` for a table: 4 decimals, or `<1e-4` below that."""
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


PAIRED_COLUMNS = ("only_learned", "only_this", "p_value")
"""The keys `with_paired_columns` adds to every evaluation row."""


def with_paired_columns(rows, per_image):
    """`rows` (`result_rows`) with the `PAIRED_COLUMNS` of each against the learned policy on the
    final network with the same T (a `full` row: with the largest T); `None` in the learned row
    itself, and in every row when there is no learned policy.

    Args:
        rows: evaluation row dicts (`policy`, `network`, `glimpses`).
        per_image: `{network: {policy: bool [N, T]}}`, as for `paired_with_learned`.

    Returns:
        A tuple of new row dicts.
    """
    by_column, result = {}, []
    for row in rows:
        column = -1 if row["glimpses"] is None else row["glimpses"] - 1
        if column not in by_column:
            by_column[column] = paired_with_learned(per_image, column)
        cells = by_column[column].get(row.get("network", FINAL), {}).get(row["policy"])
        result.append({**row, **(cells or dict.fromkeys(PAIRED_COLUMNS))})
    return tuple(result)
