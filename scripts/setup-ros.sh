#!/usr/bin/env bash
# Build the ROS 2 Jazzy venv (PyPI wheels) and the colcon workspace in ros_ws/. Idempotent.
#
# Usage: scripts/setup-ros.sh            (venv at .ros-venv, workspace at ros_ws/install)
# Env:   ROS_VENV=/path   ROS_PYTHON=python3.11   SKIP_APT=1 (never call apt-get)
#
# ROS lives in its own venv because ros-wheels-bootstrapper re-executes every Python process
# of its environment to set LD_LIBRARY_PATH; the core's .venv stays plain.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROS_VENV:-$REPO/.ros-venv}"
WS="$REPO/ros_ws"
REQS="$WS/requirements-ros.txt"
START_S=$SECONDS

log() { echo "[setup-ros] $*"; }

# --- 1. System tools: Python 3.11 (the wheels are cp311) with headers and venv, cmake, g++ ---
find_python() {
  local candidate
  for candidate in "${ROS_PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

has_headers() {
  local inc
  inc="$("$1" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  [ -f "$inc/Python.h" ]
}

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++ make)
PY="$(find_python || true)"
if [ -z "$PY" ]; then
  missing+=(python3.11 python3.11-venv python3.11-dev)
else
  has_headers "$PY" || missing+=(python3.11-dev)
  "$PY" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3.11-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-ros: missing system packages: ${missing[*]} (install them, then re-run)" >&2
    exit 2
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  PY="$(find_python)"
fi

# --- 2. The venv and the pinned wheels (skipped when the requirements did not change) ---
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
STAMP="$VENV/.wcs-requirements.sha256"
want="$(cat "$REQS" "$REPO/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  log "installing pinned ROS wheels and the project (editable)"
  mkdir -p "$WS/log"
  { "$VPY" -m pip install -q --disable-pip-version-check -r "$REQS" \
      && "$VPY" -m pip install -q --disable-pip-version-check -e "$REPO"; } \
    >"$WS/log/last-pip.txt" 2>&1 \
    || { tail -n 40 "$WS/log/last-pip.txt" >&2; echo "setup-ros: pip install failed" >&2; exit 1; }
  echo "$want" >"$STAMP"
  log "pip install took $((SECONDS - START_S)) s"
else
  log "venv up to date"
fi

# --- 3. Point the wheels' exported CMake include paths at this venv (not system-wide) ---
# Two exported targets carry the wheel builder's paths; CMake refuses to generate until they exist.
PY_INCLUDE="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
NP_INCLUDE="$("$VPY" -c 'import numpy; print(numpy.get_include())')"
OLD_PY_INCLUDE="/opt/python/cp311-cp311/include/python3.11"
OLD_NP_INCLUDE="/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"
mapfile -t stale < <(grep -rlF "/opt/python/cp311-cp311" --include='*.cmake' "$VENV/share" || true)
if [ ${#stale[@]} -gt 0 ]; then
  log "fixing builder include paths in ${#stale[@]} CMake files"
  sed -i -e "s|$OLD_NP_INCLUDE|$NP_INCLUDE|g" -e "s|$OLD_PY_INCLUDE|$PY_INCLUDE|g" "${stale[@]}"
fi

# --- 4. Build the workspace (incremental; colcon skips unchanged CMake work) ---
export AMENT_PREFIX_PATH="$VENV"
export CMAKE_PREFIX_PATH="$VENV"
export PATH="$VENV/bin:$PATH"
# The bootstrapper re-execs python processes with the wheels' libs on LD_LIBRARY_PATH.
mkdir -p "$WS/log"
cd "$WS"
log "colcon build in $WS"
BUILD_START_S=$SECONDS
"$VENV/bin/colcon" --log-base "$WS/log" build --merge-install \
  --base-paths "$WS/src" --build-base "$WS/build" --install-base "$WS/install" \
  --cmake-args -DPython3_EXECUTABLE="$VPY" -DBUILD_TESTING=OFF \
  --event-handlers console_cohesion- summary- status- >"$WS/log/last-build.txt" 2>&1 \
  || { tail -n 60 "$WS/log/last-build.txt" >&2; echo "setup-ros: colcon build failed" >&2; exit 1; }

log "colcon build took $((SECONDS - BUILD_START_S)) s"
log "done in $((SECONDS - START_S)) s: venv $VENV, workspace $WS/install"
