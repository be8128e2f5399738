#!/usr/bin/env bash
# The GPU half of the mission in one call: `pytest -m gpu`, `sdesolve verify`, `sdesolve bench`, the seeded-noise
# benchmark and the README's main job, on CUDA. Run from the repository root on a machine with a CUDA build of torch:
#
#     bash benchmarks/gpu_check.sh            # writes its logs under $OUT (default gpu-out/)
#
# It needs no install step: the packages are imported from the checkout (PYTHONPATH) and the plugins found through
# their egg-info folders (made by `pip install -e`, so carry them to a machine that never ran pip). Wheels for
# missing dependencies (torchsde, trampoline, diffusers, importlib_metadata) are installed from .whl/ if it exists.
# The timings run first and alone; the tests and the conformance run then share the GPU. DEVICE=cpu QUICK=1 is a dry
# run of the script itself; QUICK=1 alone runs `verify --quick` on the GPU. docs/gpu.md records what it printed.
set -uo pipefail
OUT=${OUT:-gpu-out}
DEVICE=${DEVICE:-cuda}
LIMIT=${LIMIT:-330}  # seconds for each background job
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
root=$PWD
export PYTHONPATH="$root:$root/plugins/sdesolve-diffusion:$root/plugins/sdesolve-sra:$root/plugins/sdesolve-lab:/tmp/site"
quick=()
[[ -n ${QUICK:-} ]] && quick=(--quick)

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    python3 -c "import torch, torchsde, torchdiffeq; print('torch', torch.__version__, 'cuda', torch.version.cuda,
    torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA', 'torchsde', torchsde.__version__,
    'torchdiffeq', torchdiffeq.__version__)"
    python3 -m sdesolve plugins
    echo "== sdesolve bench --device $DEVICE"
    python3 -m sdesolve bench --device "$DEVICE" --repeats 3
    python3 -m sdesolve bench --device "$DEVICE" --repeats 3 --dtype float64
    echo "== benchmarks/seeded_noise.py --device $DEVICE"
    python3 benchmarks/seeded_noise.py --device "$DEVICE" --repeats 3
    echo "== benchmarks/op_counts.py --device $DEVICE"
    if [[ $DEVICE == cuda* ]]; then python3 benchmarks/op_counts.py --device "$DEVICE" --kernels
    else python3 benchmarks/op_counts.py --device "$DEVICE"; fi
} 2>&1 | tee "$OUT/timings.log"

(timeout "$LIMIT" python3 -m pytest -m gpu -q -n 6 -p no:cacheprovider tests plugins/sdesolve-diffusion/tests \
    plugins/sdesolve-sra/tests plugins/sdesolve-lab/tests/test_lab.py >"$OUT/pytest_gpu.log" 2>&1; echo "pytest -m gpu: exit $?" >>"$OUT/pytest_gpu.log") &
# the conformance run in two halves, side by side (each writes its own JSON)
for half in "ode strong" "weak tolerance"; do
    kinds=()
    for k in $half; do kinds+=(--kind "$k"); done
    (timeout "$LIMIT" python3 -m sdesolve verify --device "$DEVICE" "${quick[@]}" "${kinds[@]}" --json --quiet \
        >"$OUT/verify_${half// /_}.json" 2>>"$OUT/verify.err"; echo "verify ${kinds[*]}: exit $?" >>"$OUT/verify.err") &
done
(timeout "$LIMIT" python3 -m sdesolve compare --device "$DEVICE" --quick --out /tmp/compare >"$OUT/compare.log" 2>&1;
    echo "compare --quick: exit $?" >>"$OUT/compare.log") &
wait

{
    echo "== pytest -m gpu"
    tail -n 25 "$OUT/pytest_gpu.log"
    echo "== sdesolve verify --device $DEVICE ${quick[*]}"
    tail -n 3 "$OUT/verify.err"
    python3 - "$OUT"/verify_*.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    try:
        d = json.load(open(path))
    except Exception as exc:  # a run cut off by the limit leaves no JSON
        print(path, "unreadable:", exc)
        continue
    print(path, "summary:", d["summary"])
    for r in d["results"]:
        if r.get("status") != "PASS":
            keys = ("stepper", "problem", "kind", "status", "measured", "declared")
            print("  not passed:", {k: r.get(k) for k in keys})
PY
    echo "== sdesolve compare --device $DEVICE --quick"
    tail -n 40 "$OUT/compare.log"
} 2>&1 | tee "$OUT/summary.log"
