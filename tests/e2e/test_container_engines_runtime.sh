#!/usr/bin/env bash
# test_container_engines.sh with nestvm-runtime as the OCI runtime (issue
# 14): podman and containerd run each container in a VM of its own, in a lab
# with the engines. The same checks crun passes (the reference, in
# test_container_engines.sh itself), but exec (not implemented yet: its
# refusal is checked instead).
set -u
cd "$(dirname "$0")/../.." || exit 1
exec bash tests/e2e/test_container_engines.sh "$PWD/build/nestvm-runtime"
