#!/usr/bin/env bash
# A short fuzzing run of every target, for CI: builds them with the flags
# cargo-fuzz uses (coverage instrumentation, --cfg fuzzing, no sanitizer:
# stable Rust), so cargo-fuzz itself need not be installed. For long runs
# use `cargo fuzz run <target>` (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="--cfg fuzzing -Cdebug-assertions -Coverflow-checks \
  -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares"
# An explicit target keeps RUSTFLAGS off build scripts and proc macros.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --profile smoke --bins --target "$host"
# Wherever cargo put them: ./target, or CARGO_TARGET_DIR when that is set.
target_dir="$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
seconds="${FUZZ_SECONDS:-10}"
for target in decode_response page_plan; do
  corpus="$(mktemp -d)"
  cp "seeds/$target/"* "$corpus/"
  echo "fuzzing $target for ${seconds}s"
  "$target_dir/$host/smoke/$target" -max_total_time="$seconds" -seed=1 -print_final_stats=1 "$corpus" 2>&1 | tail -n 4
  rm -rf "$corpus"
done
