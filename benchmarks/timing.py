"""Wall-clock timing of blocking calls, and the peak FLOP/s of a large `tf.matmul`."""

import time

import numpy as np
import tensorflow as tf


def time_calls(fn, *, repeats, warmup=1):
    """Seconds per call of `fn`, after `warmup` untimed calls.

    Args:
        fn: a no-argument callable that returns only when its work is done (e.g. it calls
            `.numpy()` on its results).
        repeats: number of timed calls (at least 1).
        warmup: untimed calls first (tracing, caches, thread pools).

    Returns:
        float64 array `[repeats]` of seconds.
    """
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return np.asarray(seconds)


def time_interleaved(fns, *, repeats, warmup=1):
    """Seconds per call of several callables, called in turn so that drifts hit all alike.

    Args:
        fns: dict name → no-argument blocking callable.
        repeats: timed rounds; each round calls every callable once.
        warmup: untimed rounds first.

    Returns:
        dict name → float64 array `[repeats]` of seconds.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    seconds = {name: [] for name in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - start)
    return {name: np.asarray(values) for name, values in seconds.items()}


def matmul_peak_flops(size=2048, repeats=10):
    """FLOP/s of a float32 `[size, size] @ [size, size]` `tf.matmul` (median of `repeats` calls).

    One call does `2 · size³` FLOPs. This is the best rate TensorFlow reaches on this machine for
    dense float32 work, the reference for the model's achieved FLOP/s.

    Returns:
        `(flops_per_second, seconds_per_call)`.
    """
    a = tf.random.stateless_normal([size, size], seed=[1, 2])
    b = tf.random.stateless_normal([size, size], seed=[3, 4])
    matmul = tf.function(tf.matmul)
    seconds = float(np.median(time_calls(lambda: matmul(a, b).numpy(), repeats=repeats, warmup=2)))
    return 2.0 * size**3 / seconds, seconds
