"""What one TensorFlow op of a training step is: its category, its layer, its analytic FLOPs.

Each op is put in a category (convolution forward, input gradient, filter gradient, matmul,
BatchNorm, its gradient, ReLU, its gradient, slices/pads, residual adds, loss, weight decay,
optimizer update, other) from its op type and node name, and, for the convolutions and
BatchNorms, in the Keras layer it belongs to. FLOPs per op are analytic, from the static shapes of
the step traced as a graph: `2 · prod(output) · k_h · k_w · C_in` for a convolution and both its
gradients, `2 · m · k · n` for a matmul, 0 for every other op.
"""

import re

import numpy as np

# Categories in table order: (key, label, op types without oneDNN's `_Mkl`/`_MklNative` prefix).
CATEGORIES = (
    ("conv_forward", "Conv2D forward", ("Conv2D", "_FusedConv2D", "FusedConv2D")),
    ("conv_input_grad", "Conv2DBackpropInput", ("Conv2DBackpropInput",)),
    (
        "conv_filter_grad",
        "Conv2DBackpropFilter",
        ("Conv2DBackpropFilter", "Conv2DBackpropFilterWithBias"),
    ),
    ("matmul", "MatMul", ("MatMul", "BatchMatMulV2", "_FusedMatMul", "FusedMatMul")),
    ("batch_norm", "FusedBatchNorm (+ fused ReLU)", ("FusedBatchNormV3", "FusedBatchNormEx")),
    ("batch_norm_grad", "FusedBatchNormGrad", ("FusedBatchNormGradV3", "FusedBatchNormGradEx")),
    ("relu", "Relu", ("Relu",)),
    ("relu_grad", "ReluGrad", ("ReluGrad",)),
    ("slice_pad", "slices / pads", ("Slice", "StridedSlice", "Pad", "StridedSliceGrad", "PadV2")),
    ("residual_add", "residual adds, gradient sums (AddN)", ("AddN",)),
    (
        "loss",
        "loss (cross-entropy, accuracy)",
        ("SparseSoftmaxCrossEntropyWithLogits", "ArgMax", "Equal"),
    ),
    ("weight_decay", "weight decay (penalty + gradient)", ()),
    ("optimizer", "optimizer update (Adam)", ()),
    ("other", "other ops", ()),
)
FLOP_CATEGORIES = ("conv_forward", "conv_input_grad", "conv_filter_grad", "matmul")
LAYER_CATEGORIES = FLOP_CATEGORIES + ("batch_norm", "batch_norm_grad")  # rows per layer
LAYER_KERNELS = LAYER_CATEGORIES + ("relu", "relu_grad", "slice_pad", "residual_add")
OUTSIDE = "outside_ops"  # step wall time not covered by any op: dispatch, Keras' Python, input


def canonical_type(op_type):
    """`_MklNativeConv2D` → `Conv2D`: the op type without oneDNN's prefixes."""
    return re.sub(r"^_Mkl(Native)?(?=[A-Z_])", "", op_type)


def _strip_suffix(component):
    return re.sub(r"_\d+$", "", component)


def layer_key(node_name, layer_names):
    """The Keras layer path of an op from its node name, e.g. `group1_block1/conv2`.

    Args:
        node_name: a graph node name, e.g.
            `StatefulPartitionedCall/gradient_tape/saccader_1/bag_net_1/group1_block1_1/conv2_1/
            convolution/Conv2DBackpropFilter` (Keras' `_1` suffixes are ignored).
        layer_names: names of the model's layers whose ops are grouped (e.g. every convolution's
            and every block's name).

    Returns:
        The matched layer names joined by `/`, or `""` when none matches.
    """
    parts = [_strip_suffix(p) for p in node_name.split("/")]
    return "/".join(p for p in parts if p in layer_names)


def categorize(node_name, op_type):
    """The category key (of `CATEGORIES`) of one op."""
    kind = canonical_type(op_type)
    lower = node_name.lower()
    if "adam" in lower or "/optimizer" in lower or lower.startswith("optimizer"):
        return "optimizer"
    for key, _, types in CATEGORIES:
        if kind in types:
            return key
    if "weight_decay" in lower or "l2_penalty" in lower:
        return "weight_decay"
    if "cross_entropy" in lower or "correct" in lower or "/loss" in lower:
        return "loss"
    if kind in ("AddV2", "Add") and "block" in lower:
        return "residual_add"
    return "other"


def op_flops(op):
    """Analytic FLOPs of one graph op from its static shapes (0 for ops without multiply-adds).

    `Conv2D`: `2 · prod(output) · k_h · k_w · C_in`; `Conv2DBackpropInput` and
    `Conv2DBackpropFilter`: the same count as the forward convolution they differentiate;
    `MatMul`: `2 · m · k · n`.
    """
    kind = canonical_type(op.type)
    if kind == "Conv2D":
        out, kernel = op.outputs[0].shape, op.inputs[1].shape
        return 2 * int(np.prod(out)) * int(np.prod(kernel[:3]))
    if kind == "Conv2DBackpropInput":  # inputs: input_sizes, filter, out_backprop
        kernel, grad = op.inputs[1].shape, op.inputs[2].shape
        return 2 * int(np.prod(grad)) * int(np.prod(kernel[:3]))
    if kind == "Conv2DBackpropFilter":  # inputs: input, filter_sizes, out_backprop
        grad, kernel = op.inputs[2].shape, op.outputs[0].shape
        return 2 * int(np.prod(grad)) * int(np.prod(kernel[:3]))
    if kind == "MatMul":
        a, b = op.inputs[0].shape, op.inputs[1].shape
        m, k = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * int(m) * int(k) * int(n)
    return 0
