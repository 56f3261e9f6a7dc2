#!/usr/bin/env bash
# Regenerate every stored figure table of book/data (chapters 4 and 5 read them), 100 runs, seeds 0..99,
# with a provenance record per command. Run from the repository's root:
#     bash book/data/regenerate.sh            # everything, in order of cost
#     bash book/data/regenerate.sh figure3    # only the commands whose figure matches
#     VARIANTS="stated" bash book/data/regenerate.sh   # only some of: stated step_x2 init_x0.5
# Stated settings go to book/data/, the two candidate conventions of chapter 5 to
# book/data/step_x2/ (--step-scale 2) and book/data/init_x0.5/ (--init-scale 0.5).
# Only the CSV files are kept (the commands also draw PNG and SVG files).
set -euo pipefail
PY=${PYTHON:-python}
DATA=book/data
ONLY=${1:-}
run() {  # run FIGURE DIR [OPTIONS...]
    local name=$1 dir=$2
    shift 2
    [[ -n "$ONLY" && "$name" != "$ONLY" ]] && return 0
    local cmd=("$PY" -m xorgrok "$name" --runs 100 --out "$dir" --no-progress "$@")
    local start end
    start=$(date +%s.%N)
    "${cmd[@]}" > /dev/null
    end=$(date +%s.%N)
    rm -f "$dir/$name.png" "$dir/$name.svg"
    {
        echo "command: python -m xorgrok $name --runs 100 --out $dir $*"
        echo "package: xorgrok $("$PY" -c 'import xorgrok; print(xorgrok.__version__)')"
        echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (src modified)')"
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "machine: $(uname -sm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
        echo "cores: $(nproc --all) (threads per command: ${OMP_NUM_THREADS:-all})"
        printf 'wall time: %.0f s\n' "$(echo "$end - $start" | bc)"
    } > "$dir/provenance_$name.txt"
    echo "$dir/provenance_$name.txt"
}
VARIANTS=${VARIANTS:-"step_x2 init_x0.5 stated"}
mkdir -p "$DATA/step_x2" "$DATA/init_x0.5"
for name in figure3 figure1 figure4; do
    for variant in $VARIANTS; do
        case $variant in
            step_x2) run "$name" "$DATA/step_x2" --step-scale 2 ;;
            init_x0.5) run "$name" "$DATA/init_x0.5" --init-scale 0.5 ;;
            stated) run "$name" "$DATA" ;;
            *) echo "unknown variant $variant" >&2; exit 2 ;;
        esac
    done
done
# The chapter "The theorem, tested as stated" (its own provenance record, written by the command):
if [[ -z "$ONLY" || "$ONLY" == theorem ]]; then
    OMP_NUM_THREADS=1 "$PY" -m xorgrok theorem-data --out "$DATA/theorem"
fi
# The chapter "How long is the plateau?":
if [[ -z "$ONLY" || "$ONLY" == plateau ]]; then
    OMP_NUM_THREADS=1 "$PY" -m xorgrok plateau-data --out "$DATA/plateau"
fi
if [[ -z "$ONLY" || "$ONLY" == beyond ]]; then "$PY" -m xorgrok sweep --all --resolution full --out "$DATA/beyond" --no-progress; fi  # part "Beyond the theorem" (resumable)
