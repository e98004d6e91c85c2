"""Saccader-ClassNet: a separate classifier of the Saccader's glimpses, cut from the image
(docs/design.md, "Saccader-ClassNet").

`classnet.py` (`SaccaderClassNet`, `CLASSIFIERS`), `glimpse_extraction.py`
(`GlimpseExtraction`: the Saccader's boxes cut from an image of another size) and
`imagenet_inputs.py` (`ImagenetInputs`: normalised glimpses as a `keras.applications` ImageNet
classifier expects its input).
"""

from saccader_tf.models.classnet.classnet import CLASSIFIERS, SaccaderClassNet
from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction
from saccader_tf.models.classnet.imagenet_inputs import ImagenetInputs

__all__ = ["CLASSIFIERS", "GlimpseExtraction", "ImagenetInputs", "SaccaderClassNet"]
