#!/usr/bin/env bash
# The MNIST trainer's checks on one CUDA GPU, in one go (about 5-8 minutes on an H200):
#   1. the CUDA tests (pytest -m cuda: masks CPU = CUDA, a small cell CUDA ~ CPU, CUDA-graph
#      replay = eager, a killed CUDA sweep rerun = the uninterrupted file);
#   2. statmech-nn bench --device cuda --networks 64,256,1024,4096 --json (the scaling table);
#   3. the wall time of the reference study's sweep, fixed epochs (docs/reference_study.md) on
#      the GPU, cold cache.
# Everything it prints also goes to $OUT (the device tool's result folder) or ./gpu-check-out.
#
# Prepare here (a machine with the registry and MNIST), from the project's root, once:
#     /work/shared/gpu/pack.sh            # writes .gpu-kit/ (wheels + MNIST), git-ignored
# Run on the GPU machine with the device tool, from the project's root:
#     run(command="bash scripts/gpu_check.sh", carry=[".gpu-kit"], timeout_s=600)
# (the kit's setup.sh installs the wheels into /tmp/gpu-site and points the code at this tree).
set -uo pipefail
out=${OUT:-gpu-check-out}; mkdir -p "$out"
log() { echo "== $(date -u +%T) $*" | tee -a "$out/steps.log"; }
# shellcheck disable=SC1091
source .gpu-kit/setup.sh || { echo "no .gpu-kit: run /work/shared/gpu/pack.sh first"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}

log "1. CUDA tests"
timeout 300 python3 -m pytest -q -p no:cacheprovider -m cuda -rs plugins/mnist_dropout/tests \
    2>&1 | tee "$out/pytest_cuda.log"
tests_rc=${PIPESTATUS[0]}

log "2. bench --device cuda --networks 64,256,1024,4096"
timeout 240 python3 -m statmech_nn bench --device cuda --networks 64,256,1024,4096 --json \
    >"$out/bench_cuda.json" 2>"$out/bench_cuda.log"
bench_rc=$?
cat "$out/bench_cuda.log"

log "3. reference study sweep (fixed epochs), cold cache"
start=$(date +%s.%N)
timeout 180 python3 -m statmech_nn sweep examples/reference_study.toml --set training.min_steps=0 \
    --device cuda --no-progress --cache-dir /tmp/ref-cache -o "$out/reference_fixed_epochs_cuda.nc" \
    2>&1 | tail -3
study_rc=${PIPESTATUS[0]}
end=$(date +%s.%N)
python3 -c "print(f'reference study (fixed epochs) on cuda: {float($end) - float($start):.1f} s wall, rc=$study_rc')" \
    | tee -a "$out/steps.log"

log "done: tests rc=$tests_rc bench rc=$bench_rc study rc=$study_rc"
exit $(( tests_rc != 0 || bench_rc != 0 || study_rc != 0 ))
