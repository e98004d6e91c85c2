"""Integer argument checks, one message style for the whole package.

A refused value raises `ValueError` naming the argument, the rule and the value received:

    `batch_size` must be an integer >= 1. Received: batch_size=0
"""

import numbers


def is_int(value, minimum=1):
    """Whether `value` is an integer (Python or NumPy, not a bool) of at least `minimum`.

    Args:
        value: anything.
        minimum: the smallest accepted integer.

    Returns:
        A Python bool.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


def check_int(name, value, minimum=1):
    """Raises `ValueError` unless `value` is an integer (not a bool) of at least `minimum`.

    Args:
        name: the argument's name, used in the message.
        value: the value to check.
        minimum: the smallest accepted integer (1: a positive integer).

    Returns:
        `value` as a Python `int`.

    Raises:
        ValueError: "`name` must be an integer >= minimum. Received: name=value".
    """
    if not is_int(value, minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_ints(name, values, minimum=1):
    """Raises `ValueError` unless `values` is a non-empty sequence of integers >= `minimum`.

    Args:
        name: the argument's name, used in the message.
        values: the sequence to check (e.g. layer widths).
        minimum: the smallest accepted integer.

    Returns:
        `values` as a tuple of Python `int`s.

    Raises:
        ValueError: "`name` must hold integers >= minimum. Received: name=values".
    """
    try:
        items = tuple(values)
    except TypeError:
        items = ()
    if not items or not all(is_int(v, minimum) for v in items):
        raise ValueError(f"`{name}` must hold integers >= {minimum}. Received: {name}={values!r}")
    return tuple(int(v) for v in items)
