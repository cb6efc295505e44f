# Sourced by the scripts: makes .venv and installs the project into it from the pinned set in
# requirements/ (serve, dev or examples) whenever pyproject.toml or that set changed. The serve set
# installs the project with its `server` extra; dev and examples include that extra themselves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
extras="${1:-}"
pins="requirements/${extras:-serve}.txt"
extras="${extras:-server}"
stamp=".venv/.installed${extras:+-$extras}"
want="$(cat pyproject.toml "$pins" | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet "pip==26.3"
    # Exact versions from the pinned set (torch is the CPU 2.13.0 build on a CPU machine), then the
    # project itself without resolving again; pip check fails if the set no longer covers pyproject.toml.
    .venv/bin/python -m pip install --quiet -r "$pins"
    .venv/bin/python -m pip install --quiet --no-deps -e ".[$extras]"
    .venv/bin/python -m pip check >&2
    echo "$want" > "$stamp"
fi
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
export PATH="$root/.venv/bin:$PATH"
