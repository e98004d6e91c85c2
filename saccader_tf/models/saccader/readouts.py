"""Glimpse readouts of the Saccader: how step t turns the per-location logits Z into y^t.

Chosen when the model is built (`Saccader(readout="hard"|"soft")`), never by a string in `call`.
With Z `[B, N, K]`, the chosen cells l^t and the location probabilities π^t = softmax(R^t) `[B, N]`:

| readout | y^t `[B, K]`                       | final logits ŷ                          |
|---------|-------------------------------------|-----------------------------------------|
| `hard`  | Z[l^t] (hard attention, default)    | mean_t y^t                              |
| `soft`  | Σ_n π^t_n Z_n (soft attention)      | mean_t y^t = mean_t Σ_n π^t_n Z_n       |

`soft` is the official TF1 code's `soft_attention` ablation: each step's logits are the
expectation of Z under that step's location distribution, and the T steps are averaged like the
hard glimpses (so `evaluate`'s "mean of the first t glimpses" stays the prediction after t steps).
The cells are still chosen by the policy (they set the visited mask of the next steps and the
glimpse boxes), but the prediction reads the whole map: it is not a hard-attention model any more,
and gradients reach the location network through π.
"""

import tensorflow as tf

READOUTS = ("hard", "soft")


def hard_readout(patch_logits, cells, probabilities):
    """y^t = Z[l^t]: float32 `[B, T, K]` from Z `[B, N, K]` and cells int `[B, T]`."""
    del probabilities
    return tf.cast(tf.gather(patch_logits, cells, axis=1, batch_dims=1), tf.float32)


def soft_readout(patch_logits, cells, probabilities):
    """y^t = Σ_n π^t_n Z_n: float32 `[B, T, K]` from Z `[B, N, K]` and π `[B, T, N]`."""
    del cells
    return tf.einsum(
        "btn,bnk->btk", tf.cast(probabilities, tf.float32), tf.cast(patch_logits, tf.float32)
    )


def make_readout(name):
    """The readout function called `name` (one of `READOUTS`).

    Returns:
        `(patch_logits [B,N,K], cells [B,T], probabilities [B,T,N]) -> glimpse logits [B,T,K]`.
    """
    if name not in READOUTS:
        raise ValueError(f"`readout` must be one of {READOUTS}. Received: readout={name!r}")
    return {"hard": hard_readout, "soft": soft_readout}[name]
