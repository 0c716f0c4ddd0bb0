"""lmrt: LMDeploy's Python API over the lmrt runtime (liblmrt.so, through ctypes).

    from lmrt import pipeline, TurbomindEngineConfig, GenerationConfig
    pipe = pipeline('/path/to/model', backend_config=TurbomindEngineConfig(cache_max_entry_count=0.2))
    print(pipe(['Hi, pls intro yourself', 'Shanghai is']))

docs/python.md describes the API, the options and the deployment they make.
"""
from ._library import find_library
from .config import ChatTemplateConfig, EngineConfig, GenerationConfig, TurbomindEngineConfig
from .deployment import deployment_yaml
from .errors import LibraryNotFoundError, LmrtError, PipelineClosedError, StatusCode
from .pipeline import Pipeline, Session, pipeline
from .response import Response
from .runtime import Event, Request, Runtime

__version__ = "0.1.0"

__all__ = [
    "pipeline", "Pipeline", "Session", "Response", "GenerationConfig", "EngineConfig", "TurbomindEngineConfig",
    "ChatTemplateConfig", "LmrtError", "LibraryNotFoundError", "PipelineClosedError", "StatusCode", "Runtime",
    "Request", "Event", "deployment_yaml", "find_library", "__version__",
]
