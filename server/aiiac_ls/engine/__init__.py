"""The one engine behind `--check` and the language server.

paths -> files by format -> parsed models -> resources -> facts -> rules -> located, suppressed,
de-duplicated findings. Every file that cannot be analysed becomes a `Problem` naming the file
and the cause; the rest of the scan goes on.

    discovery.py    which files, and what each one is
    loading.py      one loader per format: resources in their rule scopes; the parse cache
    checking.py     rules on resources, hits into findings, reuse across keystrokes
    suppression.py  suppression comments and the findings about them
    locate.py       where a finding is reported
    analysis.py     what an analysis produced
    core.py         `Engine`, which puts them together
"""

from .analysis import Analysis, guarded
from .core import Engine
from .discovery import chart_root, classify, discover, display_path
from .loading import ParseCache, module_groups
from .locate import locate, writable_fix

__all__ = [
    "Analysis",
    "Engine",
    "ParseCache",
    "chart_root",
    "classify",
    "discover",
    "display_path",
    "guarded",
    "locate",
    "module_groups",
    "writable_fix",
]
