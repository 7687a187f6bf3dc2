# Sourced by the tools/ scripts and .ci/run (not run on its own).

# ccache_flags: CMake flags that compile through ccache when it is installed (tools/setup-deps installs
# it), so a build reuses the objects of an earlier one wherever the compile command is the same: the
# GPU builds (CUDA, HIP, EMU) reuse the main Release build's engine, CLI and reference objects. Without
# ccache, none (a plain build); CCACHE_DISABLE=1 turns it off. The cache is ccache's default directory
# (~/.cache/ccache, or $CCACHE_DIR). cuda_ccache_flags: the same for nvcc, for a CUDA build.
ccache_flags=() cuda_ccache_flags=()
if command -v ccache >/dev/null; then
  ccache_flags=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cuda_ccache_flags=(-DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi

# nvcc: the CUDA compiler every CUDA build script uses: $NVCC when set, else nvcc on PATH, else the
# toolkit's standard place. One answer for all of them matters: CMake drops a build folder's cache
# (DLLM_GPU included) when a second script configures it with another nvcc path.
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}

# timed LABEL COMMAND...: runs COMMAND (a program, or a function whose commands are chained with &&:
# errexit does not apply inside it) and prints how many seconds it took; with DLLM_TIMES=FILE (set by
# .ci/run) it also records them there (timing_record). Returns COMMAND's status.
timed() {
  local label=$1 start=$EPOCHREALTIME t0=$SECONDS depth=${DLLM_TIMING_DEPTH:-0} rc=0
  shift
  export DLLM_TIMING_DEPTH=$((depth + 1))  # what COMMAND times is nested under LABEL
  "$@" || rc=$?
  export DLLM_TIMING_DEPTH=$depth
  local s=$((SECONDS - t0))
  if ((rc == 0)); then
    echo "== $label: $s s"
    timing_record "$start" "$s" "$label"
  else
    echo "== $label: $s s, FAILED ($rc)"
    timing_record "$start" "$s" "$label" "FAILED ($rc)"
  fi
  return "$rc"
}

# timing_record START SECONDS LABEL [STATUS]: records a time for timing_table (START: $EPOCHREALTIME
# when it began) when DLLM_TIMES is set; nothing otherwise.
timing_record() {
  [[ -z ${DLLM_TIMES:-} ]] ||
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "${DLLM_TIMING_DEPTH:-0}" "$2" "${4:-ok}" "$3" >>"$DLLM_TIMES"
}

# timing_table TOTAL_SECONDS: the times recorded in $DLLM_TIMES in the order they began, each script's
# own stages indented under the stage that ran it, with their share of TOTAL_SECONDS.
timing_table() {
  local total=$1 start depth s status label
  [[ -n ${DLLM_TIMES:-} && -s $DLLM_TIMES ]] || return 0
  printf '%8s %6s  %s\n' seconds share stage
  while IFS=$'\t' read -r start depth s status label; do
    printf '%8d %5d%%  %*s%s%s\n' "$s" $((total > 0 ? 100 * s / total : 0)) $((2 * depth)) '' "$label" \
      "$([[ $status == ok ]] || echo "  [$status]")"
  done < <(LC_ALL=C sort -t $'\t' -k1,1n -k2,2n "$DLLM_TIMES")
  printf '%8d %5d%%  %s\n' "$total" 100 total
}
