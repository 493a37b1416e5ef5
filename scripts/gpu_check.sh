#!/usr/bin/env bash
# The MNIST trainer's checks on one CUDA GPU, in one go (at most 8 minutes: each step has its own
# time limit, 7.5 minutes in all, and what a step wrote is kept when a later one runs out of time):
#   1. the CUDA tests (pytest -m cuda: masks CPU = CUDA for the compiled and the eager backends,
#      a small cell CUDA ~ CPU, CUDA-graph replay = eager, a killed CUDA sweep rerun = the
#      uninterrupted file);
#   2. where a step's time goes: python -m statmech_mnist_dropout.step_profile for one ensemble
#      of 1024 and of 4096 networks (eager and CUDA-graph step times, kernel breakdown);
#   3. statmech-nn bench --device cuda --networks 64,256,1024,4096 --json (the scaling table);
#   4. the wall time of the reference study's sweep, fixed epochs (docs/reference_study.md) on
#      the GPU, cold cell cache;
# and, throughout, the card's utilisation and memory every 250 ms (gpu_util.csv).
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
# How busy the card is through every step (the complaint was 2-3 %): sampled every
# 250 ms into gpu_util.csv; steps.log has each step's start time (UTC) to attribute the samples.
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 250 \
    >"$out/gpu_util.csv" 2>/dev/null &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT

log "1. CUDA tests"
timeout 180 python3 -m pytest -q -p no:cacheprovider -m cuda -rs plugins/mnist_dropout/tests \
    2>&1 | tee "$out/pytest_cuda.log"
tests_rc=${PIPESTATUS[0]}

log "2. step profile, 1024 and 4096 networks"
timeout 75 python3 -m statmech_mnist_dropout.step_profile --device cuda --networks 1024 4096 \
    --json "$out/step_profile_cuda.json" 2>&1 | tee "$out/step_profile_cuda.log"
profile_rc=${PIPESTATUS[0]}

log "3. bench --device cuda --networks 64,256,1024,4096"
timeout 135 python3 -m statmech_nn bench --device cuda --networks 64,256,1024,4096 --json \
    >"$out/bench_cuda.json" 2>"$out/bench_cuda.log"
bench_rc=$?
cat "$out/bench_cuda.log"

log "4. reference study sweep (fixed epochs), cold cache"
start=$(date +%s.%N)
timeout 60 python3 -m statmech_nn sweep examples/reference_study.toml --set training.min_steps=0 \
    --device cuda --no-progress --cache-dir /tmp/ref-cache -o "$out/reference_fixed_epochs_cuda.nc" \
    2>&1 | tail -3
study_rc=${PIPESTATUS[0]}
end=$(date +%s.%N)
python3 -c "print(f'reference study (fixed epochs) on cuda: {float($end) - float($start):.1f} s wall, rc=$study_rc')" \
    | tee -a "$out/steps.log"

log "done: tests rc=$tests_rc profile rc=$profile_rc bench rc=$bench_rc study rc=$study_rc"
exit $(( tests_rc != 0 || profile_rc != 0 || bench_rc != 0 || study_rc != 0 ))
