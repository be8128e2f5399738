"""Refusing unknown options, one way for steppers, samplers and commands."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["check_options", "positive_int"]


def check_options(
    owner: str, given: Iterable[str], accepted: Mapping[str, Any], *, always: str = "", error: type = TypeError
) -> None:
    """Raise ``error`` when ``given`` holds a name that ``accepted`` (name → default) lacks.

    The message names ``owner`` (e.g. ``"stepper 'heun'"``), every unknown name with the closest accepted one,
    and the accepted options with their defaults; ``always`` lists the keywords every caller takes besides.
    """
    unknown = sorted(set(given) - set(accepted))
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(accepted), n=1, cutoff=0.6)
        hints.append(f"{name} (did you mean {close[0]!r}?)" if close else name)
    listed = ", ".join(f"{k}={v!r}" for k, v in accepted.items()) or "none"
    extra = f" (and {always})" if always else ""
    raise error(f"{owner} got unknown option(s) {', '.join(hints)}; accepted options: {listed}{extra}")


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number ≥ 1 (argparse names the option in its error); used by every command."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (1 or more), got {value}")
    return value
