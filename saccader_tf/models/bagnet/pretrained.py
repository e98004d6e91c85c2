"""ImageNet-pretrained BagNets from Brendel & Bethge's PyTorch weights (docs/pretrained.md).

    model, preprocessing = pretrained_bagnet("bagnet32-2ddd53ed.pth.tar", variant="bagnet33")

`preprocessing` says, in the terms of `model_dir/preprocessing.json` (`dataset`, `recipe`,
`channels`, `mean`, `std`, `crop_fraction`, `class_names`), how images must be prepared for these
weights, plus `image_size`, `scale`, `color` and `weights` (the file, its SHA-256 and the variant),
so that a run that starts from the weights can record and apply them.

A model that is built elsewhere (the `representation` of a `Saccader`) takes the weights with
`load_into(bagnet, source)` when it was built with `BRENDEL_BAGNET_KWARGS`:

    saccader = Saccader(num_classes=10, variant="bagnet9", image_size=224,
                        bagnet_kwargs=BRENDEL_BAGNET_KWARGS)
    preprocessing = load_into(saccader.representation, "bagnet8-34f4ccd2.pth.tar")

The head (`patch_logits`) is loaded only when the class counts agree (`preprocessing["weights"]
["head"]`); otherwise it keeps its fresh weights, for fine-tuning.
"""

from saccader_tf.models.bagnet.bagnet import BagNet
from saccader_tf.models.bagnet.brendel_layout import (
    BRENDEL_BAGNET_KWARGS,
    PREPROCESSING,
    build_pretrained,
    load_into,
)


def pretrained_bagnet(source, variant="bagnet33", *, check_hash=True, **kwargs):
    """A Keras `BagNet` with the weights of a PyTorch Brendel BagNet, and their preprocessing.

    Args:
        source: a `.pth` / `.pth.tar` file (zip or legacy `torch.save` format, read without
            torch), a `.npz` or `.safetensors` state dict, or a dict of arrays.
        variant: `"bagnet9"`, `"bagnet17"` or `"bagnet33"` (published as `bagnet8`, `bagnet16`,
            `bagnet32`).
        check_hash: check the SHA-256 prefix of a file with a published name.
        **kwargs: other `BagNet` arguments (`image_size`, `name`, `dtype`).

    Returns:
        `(model, preprocessing)`: `model(x)["logits"]` `[B, K]` (`K = 1000` for the published
        files) on NHWC images prepared as `preprocessing` says (a dict, see the module docstring).

    Raises:
        WeightsFileError: the file cannot be read, its hash is not the one in its name, or it
            holds another variant's weights (a `UserError`: one line on the command line).
    """
    return build_pretrained(BagNet, source, variant, check_hash=check_hash, **kwargs)


__all__ = ["BRENDEL_BAGNET_KWARGS", "PREPROCESSING", "load_into", "pretrained_bagnet"]
