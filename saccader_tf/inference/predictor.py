"""`saccader_tf.load(model_dir)`: a trained model for images of any size (docs/predict.md).

    import saccader_tf
    predictor = saccader_tf.load("runs/a")
    for result in predictor.predict("photos/", top_k=3):
        print(result["path"], result["class_names"][0], result["probabilities"][0])

The model is the final model of model_dir (`load_trained_model`: a Saccader, DRAM or
Saccader-ClassNet, in float32), run in inference mode. Every image gets the evaluation
preprocessing model_dir records (`preprocessing.json`: crop, resize method, mean and std),
through the one function evaluation and the export use
(`saccader_tf.data.preprocessing.preprocess_for_eval`), and its glimpse boxes are mapped back
through that crop and resize to the image's own pixels, as the export maps them
(`saccader_tf.export.serving_io.input_boxes`).
"""

import os

import numpy as np
import tensorflow as tf

from saccader_tf.data.preprocessing import crop_window, preprocess_for_eval, resize_method_of
from saccader_tf.export.endpoints import glimpse_chooser
from saccader_tf.export.serving_io import input_boxes
from saccader_tf.inference.image_inputs import FileImages, as_channels, image_paths
from saccader_tf.model_dir.model_config import load_trained_model
from saccader_tf.model_dir.preprocessing_record import load_preprocessing
from saccader_tf.utils.errors import BadValueError

DEFAULT_BATCH_SIZE = 32


def load(model_dir, batch_size=DEFAULT_BATCH_SIZE):
    """The trained model of `model_dir` as a `Predictor`.

    Args:
        model_dir: a trained run's directory (its final checkpoint, `model_config.json` and
            `preprocessing.json`).
        batch_size: images per model call.

    Raises:
        MissingCheckpointError: model_dir lacks the final checkpoint or a record (naming the
            command that writes it).
        CorruptCheckpointError: one of them is damaged.
    """
    preprocessing = load_preprocessing(model_dir)
    return Predictor(load_trained_model(model_dir), preprocessing, batch_size=batch_size)


class Predictor:
    """A trained model with its recorded preprocessing and class names.

    Args:
        model: a built `Saccader`, `DRAM` or `SaccaderClassNet`.
        preprocessing: the `preprocessing.json` record (`mean`, `std`, `crop_fraction`, `recipe`,
            `class_names`).
        batch_size: images per model call.

    Attributes:
        model, class_names (`K` strings: the recorded names, or `"0"`, `"1"`, ... when none are
        recorded), image_size (the model's side `S`), channels (1 or 3), num_glimpses (the
        model's default T).
    """

    def __init__(self, model, preprocessing, batch_size=DEFAULT_BATCH_SIZE):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BadValueError(f"`batch_size` must be an int >= 1. Received: {batch_size!r}")
        self.model, self.batch_size = model, batch_size
        self.chooser = glimpse_chooser(model)
        self.image_size, self.channels = model.image_size, model.input_channels
        self.num_glimpses = self.chooser.num_glimpses
        names = preprocessing.get("class_names")
        if not names or len(names) != model.num_classes:
            names = [str(index) for index in range(model.num_classes)]
        self.class_names = tuple(str(name) for name in names)
        self._crop_fraction = preprocessing["crop_fraction"]
        self._preprocess = tf.function(
            lambda image: preprocess_for_eval(
                image,
                image_size=self.image_size,
                mean=[float(m) for m in preprocessing["mean"]],
                std=[float(s) for s in preprocessing["std"]],
                crop_fraction=self._crop_fraction,
                resize_method=resize_method_of(preprocessing.get("recipe")),
            ),
            input_signature=[tf.TensorSpec([None, None, self.channels], tf.uint8)],
        )
        self._calls = {}  # T -> traced model call

    def preprocess(self, image):
        """The model input of one uint8 image `[H, W, channels]`: float32 `[S, S, channels]`."""
        return self._preprocess(tf.convert_to_tensor(image, tf.uint8))

    def predict(self, images, top_k=5, num_glimpses=None, skip_bad_files=False):
        """Classifies `images` and says where the model looked.

        Args:
            images: one image (a uint8 array `[H, W]` or `[H, W, C]`, C = 1, 3 or 4; grey and RGB
                are converted to the model's channels), a batch array `[N, H, W, C]`, a path (an
                image file, a folder searched recursively, or a glob pattern), or a list of
                arrays and paths (each image of its own size).
            top_k: classes per image (at most the model's `K`).
            num_glimpses: glimpses T (default: the model's).
            skip_bad_files: leave out image files that cannot be decoded (with their paths in
                `self.skipped`) instead of raising `UnreadableImageError`.

        Returns:
            A list with one dict per image, in order: `"path"` (the file, or `None` for an
            array), `"height"`, `"width"` (of the image given), `"classes"` (`k` ints, best
            first), `"class_names"`, `"probabilities"` (softmax of the logits), and
            `"glimpse_boxes"` (`T` boxes `[y0, x0, y1, x1]`, floats, end-exclusive, in the
            image's own pixels; not clipped to it, as a receptive field may reach past the
            border); a Saccader-ClassNet adds `"classifier_boxes"` (the windows its classifier
            was given, in the same pixels).

        Raises:
            NoImagesError: a path names no image file.
            UnreadableImageError: a file cannot be decoded (without `skip_bad_files`).
            BadValueError: a bad array, `top_k` or `num_glimpses`.
        """
        return list(self.iter_predict(images, top_k, num_glimpses, skip_bad_files))

    def iter_predict(
        self,
        images,
        top_k=5,
        num_glimpses=None,
        skip_bad_files=False,
        on_skip=None,
        keep_images=False,
    ):
        """`predict`, one result at a time (a batch of images is decoded at a time).

        `on_skip(path)`: called for each file left out with `skip_bad_files`. `keep_images`: each
        result also holds `"image"`, the uint8 `[H, W, channels]` image the model was given.
        """
        k, steps = self._check_args(top_k, num_glimpses)
        self.skipped = []
        batch = []
        for path, image in self._images(images, skip_bad_files, on_skip):
            batch.append((path, image))
            if len(batch) == self.batch_size:
                yield from self._predict_batch(batch, k, steps, keep_images)
                batch = []
        if batch:
            yield from self._predict_batch(batch, k, steps, keep_images)

    def _check_args(self, top_k, num_glimpses):
        for name, value in (("top_k", top_k), ("num_glimpses", num_glimpses)):
            if value is None and name == "num_glimpses":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise BadValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        steps = self.num_glimpses if num_glimpses is None else int(num_glimpses)
        cells = getattr(self.chooser, "num_cells", None)  # DRAM has no grid
        if cells is not None and steps > cells:
            raise BadValueError(
                f"`num_glimpses` must be at most the {cells} cells of the model's grid. "
                f"Received: num_glimpses={steps}"
            )
        return min(int(top_k), self.model.num_classes), steps

    def _images(self, images, skip_bad_files, on_skip):
        """`(path or None, uint8 [H, W, channels])` of every image of `images`, in order."""
        for kind, item in _items(images):
            if kind == "array":
                yield None, as_channels(item, self.channels)
                continue
            item = FileImages(item, self.channels)
            for index, path in enumerate(item.paths):
                image = item.decode(index)
                if image is not None:
                    yield path, image
                elif skip_bad_files:
                    self.skipped.append(path)
                    if on_skip is not None:
                        on_skip(path)
                else:
                    raise item.unreadable(index)

    def _model_call(self, steps):
        if steps not in self._calls:
            self._calls[steps] = tf.function(
                lambda inputs: self.model(inputs, training=False, num_glimpses=steps),
                reduce_retracing=True,
            )
        return self._calls[steps]

    def _predict_batch(self, batch, k, steps, keep_images=False):
        inputs = tf.stack([self.preprocess(image) for _, image in batch])
        outputs = self._model_call(steps)(inputs)
        probabilities = tf.nn.softmax(tf.cast(outputs["logits"], tf.float32), axis=-1)
        scores, classes = (t.numpy() for t in tf.math.top_k(probabilities, k=k))
        for row, (path, image) in enumerate(batch):
            height, width = image.shape[:2]
            window = crop_window(height, width, self._crop_fraction)
            result = {
                "path": path,
                "height": int(height),
                "width": int(width),
                "classes": [int(c) for c in classes[row]],
                "class_names": [self.class_names[c] for c in classes[row]],
                "probabilities": [float(p) for p in scores[row]],
                "glimpse_boxes": self._boxes(outputs["glimpse_boxes"][row], window, self.chooser),
            }
            if "classifier_boxes" in outputs:
                result["classifier_boxes"] = self._boxes(
                    outputs["classifier_boxes"][row], window, self.model
                )
            if keep_images:
                result["image"] = image
            yield result

    @staticmethod
    def _boxes(boxes, window, model):
        return input_boxes(boxes, window, model.image_size).numpy().tolist()


def _items(images):
    """`images` (see `Predictor.predict`) as a list of `("array", array)` and
    `("files", paths)`, the paths listed before anything is decoded (a path naming no image
    fails at once)."""
    if isinstance(images, (str, bytes)) or hasattr(images, "__fspath__"):
        return [("files", image_paths(os.fsdecode(images)))]
    if isinstance(images, (np.ndarray, tf.Tensor)):
        array = np.asarray(images)
        return [("array", image) for image in (array if array.ndim == 4 else [array])]
    if not isinstance(images, (list, tuple)) or not images:
        raise BadValueError(
            "`images` must be an image array, a batch array, a path, a folder, a glob pattern or "
            f"a non-empty list of those. Received: {type(images).__name__}"
        )
    items = []
    for image in images:
        for kind, item in _items(image):
            if kind == "files" and items and items[-1][0] == "files":
                items[-1] = ("files", items[-1][1] + item)  # decoded by one `FileImages`
            else:
                items.append((kind, item))
    return items
