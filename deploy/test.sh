#!/usr/bin/env bash
# Quick start, command 2: install dependencies, build (release preset, -Werror) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake --workflow --preset release
