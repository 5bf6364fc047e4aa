"""Loading, validating, hashing and dumping scenarios, with precise error messages."""

from __future__ import annotations

import hashlib
import json
import re
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from abm.config.scenario import Scenario


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key, the value and what is allowed."""


_SHORT = reprlib.Repr(maxlevel=3, maxdict=6, maxlist=6, maxtuple=6, maxset=6, maxstring=80, maxother=80)


def shown(value: Any, limit: int = 120) -> str:
    """A value as it appears in messages: its repr, cut short (large or deeply nested values are elided,
    never expanded)."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _format_error(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key (value {shown(err['input'])}); check the spelling against `abm config show`"
    if err["type"] == "missing":
        return f"{loc}: required key is missing"
    if not err["loc"]:  # a check across sections: its message names the keys and values
        return msg.removeprefix("Value error, ")
    return f"{loc}: {msg.removeprefix('Value error, ')} (got {shown(err.get('input'))})"


def validate_dict(data: dict[str, Any], origin: str = "config") -> Scenario:
    """Validate a plain mapping into a :class:`Scenario`; raise :class:`ConfigError` on any problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [_format_error(e) for e in exc.errors(include_url=False)]
        raise ConfigError(f"{origin}: invalid config\n  " + "\n  ".join(lines)) from None
    except ValueError as exc:  # e.g. an unknown disease preset raised by a validator
        raise ConfigError(f"{origin}: {exc}") from None


MAX_ALIASES = 200
"""YAML aliases (``*name``) one file may use: enough for any config, too few for an alias bomb."""
MAX_DEPTH = 40
"""Nesting depth of YAML collections one file may have."""
MAX_EXPANDED = 200_000
"""Values a file may hold once its aliases are expanded (a scenario holds a few hundred)."""


def _expanded_size(data: Any, limit: int) -> int:
    """Number of values in ``data`` counting every alias occurrence, stopping once past ``limit``."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
            count += len(item)
        elif isinstance(item, list):
            stack.extend(item)
    return count


class _Loader(yaml.SafeLoader):
    """Safe YAML loader that also reads ``1e6`` and ``1.0e6`` as numbers (YAML 1.2 floats), refuses a key
    given twice in one mapping, and bounds nesting depth and alias use (so no input can exhaust memory,
    time or the stack)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (*name); refused as a possible alias bomb")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels at line {mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line)
                except TypeError:
                    continue  # an unhashable key: the constructor reports it
                if first != key_node.start_mark.line:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {shown(key)} is given twice (lines {first + 1} and "
                        f"{key_node.start_mark.line + 1}); keep one", key_node.start_mark)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a clear error for a missing or unreadable file."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, not a YAML file")
    if not p.is_file():
        raise ConfigError(f"{p}: no such file")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read file ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid YAML (nested too deeply)") from None
    if _expanded_size(data, MAX_EXPANDED) > MAX_EXPANDED:
        raise ConfigError(f"{p}: expands to more than {MAX_EXPANDED:,} values through its aliases; refused")
    if data is None:
        raise ConfigError(f"{p}: the file holds no keys; write at least one (an empty file is not taken as "
                          f"'all defaults': run without a config for the defaults)")
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``; nested mappings merge, other values replace."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


NEW_ARM = "+"
"""Prefix of an arm name in an overlay, override or sweep path that adds a new arm (``arms.+name``)."""


def with_default_arms(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the default arms written out if it names none (changing one arm must not drop the
    default others)."""
    return data if "arms" in data else {**data, "arms": to_dict(Scenario())["arms"]}


def merge_onto(base: dict[str, Any], over: dict[str, Any], origin: str) -> dict[str, Any]:
    """Merge an overlay, override or sweep point onto a scenario mapping whose arms already exist.

    Every arm ``over`` names must be an arm of ``base`` (a misspelt arm would otherwise add a new arm with
    default treatment and leave the real one unchanged); ``+name`` adds a new arm explicitly.
    Raises :class:`ConfigError` naming the arm and the arms there are.
    """
    arms = over.get("arms")
    if not isinstance(arms, dict):
        return deep_merge(base, over)
    base = with_default_arms(base)
    known = base["arms"] if isinstance(base["arms"], dict) else {}
    named: dict[str, Any] = {}
    for name, value in arms.items():
        name = str(name)
        if name.startswith(NEW_ARM):
            new = name[len(NEW_ARM):]
            if new in known:
                raise ConfigError(f"{origin}: arms.{name}: arm {new!r} exists already; write arms.{new} to change it")
            named[new] = value
        elif name in known:
            named[name] = value
        else:
            raise ConfigError(f"{origin}: arms.{name}: no such arm (the arms are {', '.join(sorted(known))}); "
                              f"write arms.{NEW_ARM}{name} to add a new arm")
    return deep_merge(base, {**over, "arms": named})


def load(path: str | Path | None = None, overlays: list[str | Path] | None = None,
         overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file (or the defaults when ``path`` is None), applying overlay files in order,
    then ``overrides`` (a nested mapping, e.g. from command-line options).

    A scenario may name a base with ``extends: other.yaml`` (relative to its own folder).
    """
    data: dict[str, Any] = {}
    origin = str(path) if path else "defaults"
    if path is not None:
        data = _read_with_extends(Path(path), seen=())
        validate_dict(data, origin=origin)  # a bad key is blamed on the file that has it
    for overlay in overlays or []:
        data = merge_onto(data, read_yaml(overlay), origin=f"overlay {overlay}")
        validate_dict(data, origin=f"overlay {overlay} (on {origin})")
    if overrides:
        data = merge_onto(data, overrides, origin="command-line options")
        return validate_dict(data, origin=f"command-line options (on {origin})")
    return validate_dict(data, origin=origin)


def _read_with_extends(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    data = read_yaml(path)
    base = data.pop("extends", None)
    if base is None:
        return data
    base_path = (path.parent / str(base)).resolve()
    if base_path in seen:
        raise ConfigError(f"{path}: 'extends' forms a cycle through {base_path.name}")
    return deep_merge(_read_with_extends(base_path, seen + (base_path,)), data)


def load_with_base(path: str | Path, model: type, kind: str) -> tuple[Any, dict[str, Any]]:
    """Read and validate a spec file (batch, hypothesis, sensitivity) with ``model``; returns the spec and
    its base scenario mapping (``base:`` relative to the spec file, ``extends`` followed) merged with the
    spec's ``overrides``.  Errors name the file, the key and the value."""
    from pydantic import ValidationError

    path = Path(path)
    raw = read_yaml(path)
    try:
        spec = model.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(e) for e in exc.errors(include_url=False)]
        raise ConfigError(f"{path}: invalid {kind} spec\n  " + "\n  ".join(lines)) from None
    base: dict[str, Any] = {}
    if spec.base:
        base_path = (path.parent / spec.base).resolve()
        if not base_path.is_file():
            raise ConfigError(f"{path}: base: no such scenario {base_path}")
        base = _read_with_extends(base_path, seen=(base_path,))
        return spec, merge_onto(base, spec.overrides, origin=f"{path}: overrides")
    return spec, spec.overrides


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain JSON-compatible data."""
    return scenario.model_dump(mode="json")


def config_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario, excluding name and seed (same biology = same hash)."""
    data = to_dict(scenario)
    data.pop("name", None)
    data.pop("seed", None)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dump_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML text."""
    return yaml.safe_dump(to_dict(scenario), sort_keys=False)
