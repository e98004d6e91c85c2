"""Shared checks that every public saccader_tf layer and model must pass.

`run_layer_checks` exercises, for one layer class and one set of constructor arguments:
  0. registration as `saccader_tf>ClassName` (`keras.saving.register_keras_serializable`) and a
     `get_config` of the class's own;
  1. `get_config` / `from_config` and `serialize_keras_object` / `deserialize_keras_object` round
     trips (same config, same outputs with copied weights);
  2. for layers (not `keras.Model`s), a symbolic call (`keras.Input`) whose output shapes agree
     with the eager call;
  3. `.keras` save and reload with identical inference outputs;
  4. one `fit` step that changes at least one trainable weight and gives a finite loss;
  5. calls under the `float16` and `bfloat16` (mixed) dtype policies: finite outputs in that
     compute dtype (or float32, for outputs a layer deliberately keeps in float32).

Layers are wrapped in a functional model for the save/fit checks; `keras.Model` subclasses are used
as they are. `tests/models/test_public_layers.py` runs these checks on every public layer and model
of `saccader_tf.layers` and `saccader_tf.models`.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def _as_tuple(inputs):
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _flatten(outputs):
    """Returns a list of numpy arrays for a tensor, list/tuple or dict (sorted by key) output."""
    if isinstance(outputs, dict):
        return [np.asarray(keras.ops.convert_to_numpy(outputs[k])) for k in sorted(outputs)]
    if isinstance(outputs, (tuple, list)):
        return [np.asarray(keras.ops.convert_to_numpy(o)) for o in outputs]
    return [np.asarray(keras.ops.convert_to_numpy(outputs))]


def _float_outputs(outputs, output_keys):
    if isinstance(outputs, dict):
        keys = output_keys or sorted(outputs)
        return [outputs[k] for k in keys]
    if isinstance(outputs, (tuple, list)):
        return list(outputs)
    return [outputs]


def _wrap(layer, inputs, call_kwargs):
    """Functional model around `layer` (models are returned as they are)."""
    if isinstance(layer, keras.Model):
        return layer
    symbolic = [keras.Input(shape=np.shape(x)[1:], dtype=_dtype(x)) for x in inputs]
    outputs = layer(*symbolic, **call_kwargs)
    return keras.Model(symbolic if len(symbolic) > 1 else symbolic[0], outputs)


def _call(model, wrapped, inputs, call_kwargs):
    """Inference call of `model`: a functional wrapper takes the inputs as one structure."""
    if wrapped:
        return model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    return model(*inputs, training=False, **call_kwargs)


def run_layer_checks(
    test_case,
    cls,
    init_kwargs,
    inputs,
    *,
    call_kwargs=None,
    output_keys=None,
    check_fit=True,
    check_dtypes=True,
    atol=1e-5,
):
    """Runs the shared checks on `cls(**init_kwargs)` called on `inputs`.

    Args:
        test_case: the running `tf.test.TestCase`.
        cls: the layer or model class.
        init_kwargs: constructor arguments (each check builds its own instance from them).
        inputs: a numpy array, or a tuple of arrays passed as positional call arguments (integer
            arrays become integer `keras.Input`s in the symbolic and saved models).
        call_kwargs: extra keyword arguments for `call` (besides `training`).
        output_keys: for dict outputs, the float outputs used for the fit loss and dtype checks
            (default: every key).
        check_fit: run the one-step `fit` check (needs at least one trainable weight).
        check_dtypes: run the float16/bfloat16 policy calls.
        atol: tolerance for equal outputs.

    Returns:
        The layer instance that was checked (built).
    """
    call_kwargs = dict(call_kwargs or {})
    inputs = _as_tuple(inputs)
    _check_registration(test_case, cls)
    layer = cls(**init_kwargs)
    eager_np = _flatten(layer(*inputs, training=False, **call_kwargs))
    _check_config_round_trip(test_case, cls, layer, inputs, call_kwargs, eager_np, atol)
    if not isinstance(layer, keras.Model):
        _check_symbolic_call(test_case, cls, init_kwargs, inputs, call_kwargs, eager_np)
    _check_save_and_reload(test_case, layer, inputs, call_kwargs, atol)
    if check_fit:
        _check_fit_step(test_case, cls, init_kwargs, inputs, call_kwargs, output_keys)
    if check_dtypes:
        _check_low_precision(test_case, cls, init_kwargs, inputs, call_kwargs, output_keys)
    return layer


def _check_registration(test_case, cls):
    """0. `cls` is registered as `saccader_tf>Name` and defines (or inherits from a concrete
    layer) a `get_config`, not the generic one of Keras' base `Layer`/`Model`."""
    name = keras.saving.get_registered_name(cls)
    test_case.assertEqual(
        name,
        f"saccader_tf>{cls.__name__}",
        "decorate the class with keras.saving.register_keras_serializable(package='saccader_tf')",
    )
    test_case.assertIs(keras.saving.get_registered_object(name), cls)
    owner = next(k for k in cls.__mro__ if "get_config" in vars(k))
    generic = owner.__module__.startswith("keras.") and owner.__name__ in _GENERIC_BASES
    test_case.assertFalse(generic, f"{cls.__name__} needs its own get_config (it uses {owner})")


_GENERIC_BASES = ("Layer", "Model", "Functional", "Operation", "KerasSaveable")


def _check_config_round_trip(test_case, cls, layer, inputs, call_kwargs, eager_np, atol):
    """1. `get_config`/`from_config` and `serialize`/`deserialize_keras_object` give the same
    config, and the clone computes the same outputs with copied weights."""
    config = layer.get_config()
    clone = cls.from_config(config)
    test_case.assertEqual(clone.get_config(), config)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    test_case.assertIsInstance(restored, cls)
    test_case.assertEqual(restored.get_config(), config)
    clone(*inputs, training=False, **call_kwargs)
    clone.set_weights(layer.get_weights())
    for a, b in zip(eager_np, _flatten(clone(*inputs, training=False, **call_kwargs))):
        test_case.assertAllClose(a, b, atol=atol)


def _check_symbolic_call(test_case, cls, init_kwargs, inputs, call_kwargs, eager_np):
    """2. A call on `keras.Input`s gives the eager call's output shapes (batch unknown)."""
    symbolic_in = [keras.Input(shape=np.shape(x)[1:], dtype=_dtype(x)) for x in inputs]
    symbolic_out = cls(**init_kwargs)(*symbolic_in, **call_kwargs)
    flat = _flatten_symbolic(symbolic_out)
    test_case.assertLen(flat, len(eager_np))
    for sym, ref in zip(flat, eager_np):
        test_case.assertEqual(tuple(sym.shape)[1:], ref.shape[1:])


def _check_save_and_reload(test_case, layer, inputs, call_kwargs, atol):
    """3. `.keras` save and reload with identical inference outputs."""
    model = _wrap(layer, inputs, call_kwargs)
    wrapped = model is not layer
    reference = _flatten(_call(model, wrapped, inputs, call_kwargs))
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    outputs = _flatten(_call(reloaded, wrapped, inputs, call_kwargs))
    test_case.assertLen(outputs, len(reference))
    for a, b in zip(reference, outputs):
        test_case.assertAllClose(a, b, atol=atol)


def _check_low_precision(test_case, cls, init_kwargs, inputs, call_kwargs, output_keys):
    """5. Calls under float16 and mixed_bfloat16: finite float outputs in the compute dtype (or
    float32, for outputs a layer deliberately keeps in float32)."""
    for policy in ("float16", "mixed_bfloat16"):
        low = cls(**init_kwargs, dtype=policy)
        outs = _float_outputs(low(*inputs, training=False, **call_kwargs), output_keys)
        compute = keras.dtype_policies.get(policy).compute_dtype
        for out in outs:
            if "float" in str(out.dtype):
                test_case.assertIn(keras.backend.standardize_dtype(out.dtype), (compute, "float32"))
                test_case.assertTrue(np.all(np.isfinite(np.asarray(tf.cast(out, tf.float32)))))


def _dtype(x):
    return np.asarray(x).dtype.name


def _flatten_symbolic(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (tuple, list)):
        return list(outputs)
    return [outputs]


class _SumOfOutputs(keras.Model):
    """Trains `inner` towards zero-mean-square of its (selected) float outputs."""

    def __init__(self, inner, call_kwargs, output_keys):
        super().__init__(name="sum_of_outputs")
        self.inner = inner
        self.call_kwargs = call_kwargs
        self.output_keys = output_keys

    def call(self, inputs, training=False):
        inputs = _as_tuple(inputs)
        outs = _float_outputs(
            self.inner(*inputs, training=training, **self.call_kwargs), self.output_keys
        )
        outs = [o for o in outs if "float" in str(o.dtype)]
        return keras.ops.stack(
            [keras.ops.mean(keras.ops.square(keras.ops.cast(o, "float32"))) for o in outs]
        )


def _check_fit_step(test_case, cls, init_kwargs, inputs, call_kwargs, output_keys):
    """4. One SGD `fit` step on the mean square of the float outputs gives a finite loss and
    changes at least one trainable weight."""
    inner = cls(**init_kwargs)
    inner(*inputs, training=False, **call_kwargs)
    model = _SumOfOutputs(inner, call_kwargs, output_keys)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda y, p: keras.ops.sum(p))
    batch = np.shape(inputs[0])[0]
    x = inputs if len(inputs) > 1 else inputs[0]
    before = [keras.ops.convert_to_numpy(w) for w in inner.trainable_weights]
    test_case.assertNotEmpty(before, "fit check needs trainable weights")
    history = model.fit(x, np.zeros((batch, 1), "float32"), batch_size=batch, epochs=1, verbose=0)
    test_case.assertTrue(np.isfinite(history.history["loss"][0]))
    after = [keras.ops.convert_to_numpy(w) for w in inner.trainable_weights]
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    test_case.assertTrue(any(changed), "one fit step changed no trainable weight")
