"""Saccader-ClassNet: a separate classifier of the Saccader's glimpses, cut from the image
(docs/design.md, "Saccader-ClassNet").

`classnet.py` (`SaccaderClassNet`, `CLASSIFIERS`) and `glimpse_extraction.py`
(`GlimpseExtraction`: the Saccader's boxes cut from an image of another size).
"""

from saccader_tf.models.classnet.classnet import CLASSIFIERS, SaccaderClassNet
from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction

__all__ = ["CLASSIFIERS", "GlimpseExtraction", "SaccaderClassNet"]
