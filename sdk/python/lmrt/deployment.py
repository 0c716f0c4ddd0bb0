"""Builds the deployment YAML (docs/configuration.md) that lmrt_runtime_create reads, from pipeline options."""
import json
import os
from typing import Optional

from . import _validate as v
from ._abi import LOG_LEVELS
from .config import ChatTemplateConfig, EngineConfig

# LMDeploy spells log levels in capitals and says WARNING; the deployment says warning.
_LOG_LEVEL_ALIASES = {"warn": "warning", "fatal": "critical"}


def normalize_log_level(level) -> str:
    if not isinstance(level, str):
        raise TypeError(f"log_level: expected a str, got {type(level).__name__} {level!r}")
    name = level.lower()
    name = _LOG_LEVEL_ALIASES.get(name, name)
    if name not in LOG_LEVELS:
        raise ValueError(f"log_level: {level!r} is not a valid choice; expected one of "
                         f"{', '.join(LOG_LEVELS)} (any case)")
    return name


def model_path_string(model_path) -> str:
    """The model folder as an absolute path string (relative paths are taken from the current directory)."""
    if isinstance(model_path, bytes) or not isinstance(model_path, (str, os.PathLike)):
        raise TypeError(f"model_path: expected a str or os.PathLike, got {type(model_path).__name__} {model_path!r}")
    path = os.fspath(model_path)
    if not path:
        raise ValueError("model_path: must not be empty")
    v.check_utf8("model_path", path)
    return os.path.abspath(path)


def _scalar(value) -> str:
    """A YAML scalar for a Python value: JSON's double-quoted strings are valid YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} to the deployment")


def deployment_yaml(model_path, backend_config: Optional[EngineConfig] = None,
                    chat_template_config: Optional[ChatTemplateConfig] = None, log_level: str = "WARNING",
                    model_name: Optional[str] = None) -> str:
    """The deployment document a pipeline with these options runs (checks every option first)."""
    path = model_path_string(model_path)
    if backend_config is None:
        backend_config = EngineConfig()
    if not isinstance(backend_config, EngineConfig):
        raise TypeError(f"backend_config: expected a TurbomindEngineConfig or EngineConfig, got "
                        f"{type(backend_config).__name__} {backend_config!r}")
    backend_config.validate()
    if chat_template_config is not None:
        if not isinstance(chat_template_config, ChatTemplateConfig):
            raise TypeError(f"chat_template_config: expected a ChatTemplateConfig, got "
                            f"{type(chat_template_config).__name__} {chat_template_config!r}")
        chat_template_config.validate()
    v.check_str("pipeline", "model_name", model_name, optional=True)
    level = normalize_log_level(log_level)

    model = {"path": path}
    if model_name:
        model["name"] = model_name
    if chat_template_config is not None:
        model["chat_template"] = chat_template_config.model_name
    model.update(backend_config.model_keys())

    lines = [f"log_level: {level}", "model:"]
    lines += [f"  {k}: {_scalar(x)}" for k, x in model.items()]
    lines.append("engine:")
    lines += [f"  {k}: {_scalar(x)}" for k, x in backend_config.engine_keys().items()]
    return "\n".join(lines) + "\n"
