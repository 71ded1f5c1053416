"""CloudFormation/SAM templates read as data, for the tests and the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _construct_short_tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


# A YAML loader that reads CloudFormation's short tags (!Ref, !Sub, !If, ...) as the long form.
CloudFormationLoader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
CloudFormationLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: Path) -> dict[str, Any]:
    """The template at `path` as a dict, short tags in their long form ({"Ref": ...})."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    return loaded
