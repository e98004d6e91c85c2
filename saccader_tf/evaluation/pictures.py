"""Pictures of glimpses: numbered glimpse boxes on images, accuracy vs. T, and images with boxes
for TensorBoard (`saccader_tf.training.callbacks.GlimpseImagesCallback`).

matplotlib is imported only inside the drawing functions (Agg backend), so importing this module
is cheap and works without a display.
"""

import math
import os

import numpy as np
import tensorflow as tf

from saccader_tf.model_dir import files

# One colour per glimpse order (cycled): glimpse 1 is red, then orange, yellow, ...
PALETTE = np.array(
    [
        [230, 25, 75],
        [245, 130, 48],
        [255, 225, 25],
        [60, 180, 75],
        [70, 240, 240],
        [0, 130, 200],
        [145, 30, 180],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
        [170, 110, 40],
    ],
    np.uint8,
)


def _to_rgb_uint8(images):
    """Per-image min-max scaled uint8 `[B, H, W, 3]` (grey images are repeated to RGB)."""
    images = np.asarray(images, np.float32)
    low = images.min(axis=(1, 2, 3), keepdims=True)
    high = images.max(axis=(1, 2, 3), keepdims=True)
    scaled = (images - low) / np.maximum(high - low, 1e-12)
    if scaled.shape[-1] == 1:
        scaled = np.repeat(scaled, 3, axis=-1)
    return np.round(255 * scaled[..., :3]).astype(np.uint8)


def glimpse_summary_image(images, boxes):
    """Images with their glimpse boxes' 1-pixel outlines drawn, for `tf.summary.image`.

    Pure numpy: glimpse t gets `PALETTE[t % 12]`; earlier glimpses are drawn over later ones.

    Args:
        images: `[B, H, W, C]` float images (any normalisation; each image is min-max scaled).
        boxes: int `[B, T, 4]` boxes `(ymin, xmin, ymax, xmax)`, end-exclusive pixels.

    Returns:
        uint8 numpy `[B, H, W, 3]`.
    """
    canvas = _to_rgb_uint8(images)
    boxes = np.asarray(boxes, np.int64)
    height, width = canvas.shape[1:3]
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    for b in range(boxes.shape[0]):
        for t in reversed(range(boxes.shape[1])):
            ymin, xmin, ymax, xmax = boxes[b, t]
            inside = (rows >= ymin) & (rows < ymax) & (cols >= xmin) & (cols < xmax)
            edge = (rows == ymin) | (rows == ymax - 1) | (cols == xmin) | (cols == xmax - 1)
            canvas[b][inside & edge] = PALETTE[t % len(PALETTE)]
    return canvas


def _pyplot():
    import matplotlib  # noqa: PLC0415 (only when drawing)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _draw_boxes(axis, boxes):
    from matplotlib.patches import Rectangle  # noqa: PLC0415

    for t in reversed(range(len(boxes))):
        ymin, xmin, ymax, xmax = (float(v) for v in boxes[t])
        colour = PALETTE[t % len(PALETTE)] / 255.0
        axis.add_patch(
            Rectangle(
                (xmin - 0.5, ymin - 0.5),
                xmax - xmin,
                ymax - ymin,
                fill=False,
                edgecolor=colour,
                linewidth=1.5,
            )
        )
        axis.text(
            xmin,
            ymin,
            str(t + 1),
            color="black",
            fontsize=7,
            va="top",
            ha="left",
            bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.5},
        )


def class_name(index, class_names=None):
    """The name of class `index`: `class_names[index]` when names are given, else the index."""
    index = int(index)
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)


def _title(index, labels, predictions, class_names=None):
    parts = []
    if labels is not None:
        parts.append(f"label {class_name(labels[index], class_names)}")
    if predictions is not None:
        parts.append(f"pred {class_name(predictions[index], class_names)}")
    return ", ".join(parts)


def plot_glimpses(
    images,
    boxes,
    path,
    probabilities=None,
    labels=None,
    predictions=None,
    grid=None,
    columns=4,
    class_names=None,
    titles=None,
):
    """A PNG grid of images with their glimpse boxes, numbered in order 1..T.

    Args:
        images: `[B, H, W, C]` float images (each min-max scaled for display).
        boxes: int `[B, T, 4]` glimpse boxes, end-exclusive pixels.
        path: output `.png` path (its directory is created).
        probabilities: optional `[B, N]` location probabilities of the first glimpse; drawn as an
            `h x w` map in a second panel next to each image.
        labels: optional `[B]` true classes (in the titles).
        predictions: optional `[B]` predicted classes (in the titles).
        grid: `(h, w)` of the probability map; default a square `sqrt(N)` grid.
        columns: images per row.
        class_names: optional `K` names shown for the labels and predictions (else indices).
        titles: optional `B` titles, used instead of the labels and predictions.

    Returns:
        `path`.
    """
    plt = _pyplot()
    shown = _to_rgb_uint8(images)
    boxes = np.asarray(boxes)
    count = shown.shape[0]
    panels = 1 if probabilities is None else 2
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(
        rows, columns * panels, figsize=(2.2 * columns * panels, 2.4 * rows), squeeze=False
    )
    for axis in axes.ravel():
        axis.axis("off")
    for index in range(count):
        axis = axes[index // columns, (index % columns) * panels]
        axis.imshow(shown[index], interpolation="nearest")
        _draw_boxes(axis, boxes[index])
        title = titles[index] if titles is not None else None
        axis.set_title(title or _title(index, labels, predictions, class_names), fontsize=8)
        if probabilities is not None:
            _draw_probabilities(
                axes[index // columns, (index % columns) * panels + 1],
                np.asarray(probabilities[index]),
                grid,
            )
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
    return path


def plot_model_glimpses(
    model, images, path, labels=None, num_glimpses=None, columns=4, class_names=None
):
    """Runs `model` (inference mode) on `images` and draws its glimpses with `plot_glimpses`.

    The second panel per image is the location-probability map of the first glimpse (models without
    a `"probabilities"` output, e.g. DRAM, get one panel); titles show the label (when given) and
    the prediction.

    Args:
        model: a `Saccader` or `DRAM` (its output has `glimpse_boxes` and `logits`; `grid` sizes
            the probability map).
        images: `[B, S, S, C]` normalised images (keep B small, e.g. 8).
        path: output `.png` path.
        labels: optional `[B]` true classes.
        num_glimpses: T; default the model's.
        columns: images per row.
        class_names: optional `K` class names for the titles (else class indices).

    Returns:
        `path`.
    """
    out = model(tf.convert_to_tensor(images, tf.float32), training=False, num_glimpses=num_glimpses)
    probabilities = out.get("probabilities")  # DRAM: none
    return plot_glimpses(
        np.asarray(images),
        out["glimpse_boxes"].numpy(),
        path,
        probabilities=None if probabilities is None else probabilities[:, 0].numpy(),
        labels=None if labels is None else np.asarray(labels),
        predictions=np.argmax(out["logits"].numpy(), axis=-1),
        grid=(model.grid, model.grid),
        columns=columns,
        class_names=class_names,
    )


def _draw_probabilities(axis, probabilities, grid):
    if grid is None:
        side = int(round(math.sqrt(probabilities.size)))
        grid = (side, probabilities.size // side)
    axis.imshow(probabilities.reshape(grid), cmap="viridis", interpolation="nearest")
    axis.set_title(f"p(glimpse 1), max {probabilities.max():.2f}", fontsize=8)


def _save(figure, path):
    directory = os.path.dirname(path)
    if directory:
        files.makedirs(directory)
    with files.written_locally(path) as local:  # a URL (gs://...): drawn locally, then copied
        figure.savefig(local, dpi=100)


def _result_rows(result):
    """The rows of an `EvaluationResult` or of its `as_dict()` / loaded `evaluation.json`."""
    return result["rows"] if isinstance(result, dict) else result.rows


def plot_accuracy_vs_glimpses(result, path, metric="top1"):
    """Accuracy vs. number of glimpses T, one line per policy; `full` as a horizontal line.

    Args:
        result: an `EvaluationResult`, or its dict form (`as_dict()` / `evaluation.json`).
        path: output `.png` path.
        metric: `"top1"` or `"top5"`.

    Returns:
        `path`.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    series = {}
    rows = _result_rows(result)
    # Rows measured on the stage-1 BagNet or a Saccader-ClassNet are told apart from the final
    # model's.
    suffixes = {"stage1": " (stage-1 BagNet)", "classnet": " (ClassNet)"}
    if any(row.get("network") == "classnet" for row in rows):
        suffixes["final"] = " (Saccader logits)"
    for row in rows:
        name = row["policy"] + suffixes.get(row.get("network"), "")
        if row["glimpses"] is None:
            style = ":" if row.get("network") == "stage1" else "--"
            axis.axhline(100 * row[metric], color="black", linestyle=style, label=f"{name} image")
        else:
            series.setdefault(name, []).append((row["glimpses"], 100 * row[metric]))
    for policy, points in series.items():
        steps, values = zip(*sorted(points))
        axis.plot(steps, values, marker="o", label=policy)
    axis.set_xlabel("glimpses T")
    axis.set_ylabel(f"{metric} accuracy (%)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
    return path
