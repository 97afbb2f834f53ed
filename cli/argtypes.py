"""argparse value types shared by the subcommands: each refuses bad text with what was expected."""

from __future__ import annotations

import argparse
from pathlib import Path

from cdn import builtin
from cdn.errors import ConfigError
from cdn.units import parse_duration


def duration(text: str) -> float:
    """A positive duration: seconds, or a number with a unit (250ms, 30s, 5m)."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive duration (e.g. 10s)")
    return value


def non_negative_duration(text: str) -> float:
    """A duration >= 0: seconds, or a number with a unit (0, 1.5ms, 2s)."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration >= 0 (e.g. 1.5ms, 0)")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (underscores allowed: 1_000_000)."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (expected >= 1)")
    return value


def positive_float(text: str) -> float:
    """A number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (expected > 0)")
    return value


def fraction(text: str) -> float:
    """A number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (expected 0..1, e.g. 0.03)")
    return value


def topology_file(text: str) -> Path:
    """A topology TOML file, or the name of a built-in topology (local, world)."""
    try:
        return builtin.topology_file(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def plan_file(text: str) -> Path:
    """A capacity plan TOML file, or the name of a built-in plan (world)."""
    try:
        return builtin.plan_file(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
