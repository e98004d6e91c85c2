"""Glimpse policies: the learned Saccader cell and the non-learned baselines.

A policy is chosen when a model is built (`Saccader(policy=...)`) or evaluated
(`saccader.unroll(context, policy=make_policy("random"))`), never by a string inside `call`.
Every glimpse policy maps the state of one step — the `GlimpseContext` of an image batch and the
visited mask `C [B,N]` — to location logits `R [B,N]` (visited cells pushed down by
`VISITED_PENALTY`), a chosen cell `[B]` and the visited mask after the step (`C + onehot(cell)`,
the cell's own for `learned`, `mark_visited` for the others):

| policy           | logits R                                        | choice                     |
|------------------|-------------------------------------------------|----------------------------|
| `learned`        | the Saccader cell                               | sample (training) / argmax |
| `random`         | 0 − V·C (uniform over unvisited cells)          | always sampled (seeded)    |
| `ordered_logits` | Z[:, n, ĉ] − V·C, ĉ = argmax of full logits     | argmax                     |
| `center`         | −(squared distance to the grid centre) − V·C    | argmax (ties: lower index) |
| `sobel_mean`     | mean Sobel edge magnitude in cell's box − V·C   | argmax (`sobel`)           |
| `sobel_var`      | its variance in the cell's box − V·C            | argmax (`sobel`)           |
| `random_tf1`     | log P(cell) of a snapped uniform location       | sampled, revisits (`tf1`)  |
| `center_tf1`     | 0 at the centre cell, −V elsewhere              | centre T times (`tf1`)     |

`random` and `center` are ours (distinct cells); `random_tf1` and `center_tf1` are the 2019 TF1
code's definitions, which may revisit a cell (see `saccader_tf.models.saccader.policies.tf1`).
`full` is not a glimpse policy: the model then answers with the BagNet's full-image logits.
Modules: `base` (context, visited mask, argmax over a score), `standard`, `sobel`, `tf1` and
`registry` (`POLICIES`, `make_policy`); docs/design.md, "Glimpse policies" and "Adding a policy".
"""

from saccader_tf.models.saccader.policies.base import FixedScorePolicy, GlimpseContext, mark_visited
from saccader_tf.models.saccader.policies.registry import POLICIES, make_policy

__all__ = ["POLICIES", "FixedScorePolicy", "GlimpseContext", "make_policy", "mark_visited"]
