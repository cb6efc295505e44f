"""Make the process's C++ runtime one runtime before a wheel with its own copy of it is loaded.

The usearch wheel links libstdc++ statically and exports its symbols. Its locale facet ids that are
template members (``numpunct<char>::id`` ...) are GNU unique symbols, which the dynamic linker shares
process-wide, but ``ctype<char>::id``, the ``codecvt`` ids and the counter that numbers them stay private.
Two runtimes then number one table of facets with two counters: whichever builds its classic locale
second hands out colliding indices, so ``use_facet<numpunct<char>>`` returns another facet. Loading usearch
before onnxruntime crashed at import (a virtual call into ``codecvt<char16_t>::do_unshift``), and
torch's error messages stopped at their first number.

Loading the shared libstdc++ with ``RTLD_GLOBAL`` and building its classic locale first fixes both
orders for whatever follows: usearch then binds every facet id it uses to the shared runtime's ids, which
are already numbered, so both copies agree and the shared runtime's counter stays the only one in use.
This must run before usearch's extension is loaded; ``inferhouse/__init__.py`` runs it first, so
every entry point (the CLI, ``python -m inferhouse``, the app, the SDK) does. README "Native libraries".
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings

_RUNTIME = "libstdc++.so.6"
# Extensions that carry a private libstdc++: loaded before this module, they keep their own numbering.
_STATIC_RUNTIME_MODULES = ("usearch.compiled",)


def share_cpp_runtime() -> bool:
    """Put the shared libstdc++ in the global scope with its locale built; False where there is none."""
    if not sys.platform.startswith("linux"):
        return False  # other platforms have no GNU unique symbols
    early = [name for name in _STATIC_RUNTIME_MODULES if name in sys.modules]
    if early:
        warnings.warn(
            f"{', '.join(early)} was imported before inferhouse; import inferhouse first, or onnxruntime "
            "and torch may crash or garble messages (README, Native libraries)",
            RuntimeWarning,
            stacklevel=3,
        )
    try:
        runtime = ctypes.CDLL(_RUNTIME, mode=os.RTLD_GLOBAL)
    except OSError:
        return False  # not a GNU C++ runtime (musl, a static Python): nothing to share
    runtime._ZNSt6locale7classicEv()  # std::locale::classic(): number the facets with this runtime
    return True


SHARED = share_cpp_runtime()
