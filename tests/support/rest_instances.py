"""What TensorFlow Serving's REST `:predict` does with a request in the "instances" (row) format,
done with a loaded SavedModel instead of a server (tests run without TF Serving or network).

TF Serving reads the JSON body `{"signature_name": ..., "instances": [row, ...]}`; each row is one
batch entry: the input's value when the signature has one input, else an object naming each
input. Binary strings are sent as `{"b64": "<base64>"}`. It stacks the rows of each input into one
tensor (so every input needs a batch axis: a scalar input cannot be sent this way), calls the
signature, and answers `{"predictions": [...]}` with one object per row (so every output needs the
batch axis too).
"""

import base64
import json

import numpy as np
import tensorflow as tf


def b64(data):
    """The JSON form of a binary string in a REST request."""
    return {"b64": base64.b64encode(data).decode("ascii")}


def predict(signatures, body):
    """Answers the JSON request `body` (a string) as TF Serving's row format would.

    Returns:
        The parsed JSON answer: `{"predictions": [{output: value, ...} per row]}`.

    Raises:
        AssertionError: an input or output of the signature has no batch axis, or the rows do not
            fit the signature.
    """
    request = json.loads(body)
    signature = signatures[request.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    rows = request["instances"]
    named = rows if len(specs) > 1 else [{next(iter(specs)): row} for row in rows]
    inputs = {}
    for name, spec in specs.items():
        if spec.shape.rank == 0:
            raise AssertionError(f"input {name!r} is a scalar: the row format cannot send it")
        values = [_decoded(row[name]) for row in named]
        inputs[name] = tf.constant(np.array(values, dtype=spec.dtype.as_numpy_dtype))
    outputs = signature(**inputs)
    predictions = [{} for _ in rows]
    for key, value in outputs.items():
        value = value.numpy()
        if value.ndim == 0 or value.shape[0] != len(rows):
            raise AssertionError(f"output {key!r} {value.shape} has no batch axis of {len(rows)}")
        for i, row_value in enumerate(value):
            predictions[i][key] = _jsonable(row_value)
    return json.loads(json.dumps({"predictions": predictions}))


def _decoded(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


def _jsonable(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value] if value.dtype == object else value.tolist()
    return value.item() if hasattr(value, "item") else value
