"""Builds the optional attention module (`None`, `"cbam"` or `"adcm"`) named by a layer argument."""

from saccader_tf.layers.adcm import ADCM
from saccader_tf.layers.cbam import CBAM

ATTENTION_MODULES = (None, "cbam", "adcm")


def validate_attention(attention):
    """Raises `ValueError` unless `attention` is one of `ATTENTION_MODULES`."""
    if attention not in ATTENTION_MODULES:
        raise ValueError(
            f"`attention` must be one of {ATTENTION_MODULES}. Received: attention={attention!r}"
        )


def make_attention_module(attention, name=None, dtype=None, **kwargs):
    """Returns a new CBAM or ADCM layer, or `None` for `attention=None`.

    Args:
        attention: `None`, `"cbam"` or `"adcm"`.
        name: name of the new layer.
        dtype: dtype policy of the new layer.
        **kwargs: passed to the module's constructor (e.g. `reduction`, `rate`, `seed`).
    """
    validate_attention(attention)
    if attention is None:
        return None
    cls = {"cbam": CBAM, "adcm": ADCM}[attention]
    return cls(name=name, dtype=dtype, **kwargs)
