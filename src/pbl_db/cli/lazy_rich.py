"""Stand-ins for rich modules that typer's help imports but pbl's help never uses.

typer.rich_utils imports rich.markdown (with markdown_it, about 40 ms) and rich.traceback (with
its syntax highlighting, about 13 ms) when it loads, but uses Markdown only in its "markdown"
markup mode and Traceback only for pretty exceptions, neither of which pbl turns on. `install()`
puts a stand-in module in sys.modules for each; the first use of the class, or of any other
name, imports the real module, puts it back and hands over the real thing, so code that does
use them sees no difference.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# module -> the class typer imports from it
LAZY = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _real(name: str) -> types.ModuleType:
    if isinstance(sys.modules.get(name), _Stub):
        del sys.modules[name]
    return importlib.import_module(name)


class _Stub(types.ModuleType):
    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # the import system probes __path__ & co.: not a use
            raise AttributeError(attr)
        return getattr(_real(self.__name__), attr)


class _Forward(type):
    """Class attributes (classmethods such as Traceback.from_exception) come from the real
    class."""

    def __getattr__(cls, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(getattr(_real(cls._module), cls.__name__), attr)


def _stand_in(module: str, cls: str) -> type:
    def __new__(_cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(_real(module), cls)(*args, **kwargs)

    namespace = {"__new__": __new__, "_module": module, "__doc__": f"A real {module}.{cls}."}
    return _Forward(cls, (), namespace)


def install() -> None:
    """Stand in for each LAZY module that is not imported yet."""
    for module, cls in LAZY.items():
        if module in sys.modules:
            continue
        stub = _Stub(module)
        setattr(stub, cls, _stand_in(module, cls))
        sys.modules[module] = stub
