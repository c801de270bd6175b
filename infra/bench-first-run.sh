#!/usr/bin/env bash
# The first-run benchmark: `make dev` (and, with BENCH_FIRST_RUN_TEST=1, `make test`) on
# a fresh clone of this checkout's HEAD, with nothing cached: an empty CARGO_HOME (so the
# crate registry is downloaded again), an empty target/, no pip or npm cache. Only the
# Rust toolchain (rustup) and what apt installed stay. Each output line is timestamped;
# the steps' times, the time to a live grid (the page answers with its cells) and to an
# interactive page are written into docs/benchmarks.md, beside a reference from the same
# run: a cold build of a bare lambda_http hello world (infra/hello), the floor of any
# Rust Lambda function's first build here. Loopback only; every wait is bounded.
#
# Usage: infra/bench-first-run.sh   (about 7 minutes; 20 with BENCH_FIRST_RUN_TEST=1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_FIRST_RUN_DIR:-/tmp/primescaler-first-run}"
port="${BENCH_PORT:-9600}"
rm -rf "$work" && mkdir -p "$work"
export PATH="$HOME/.cargo/bin:$PATH" PIP_NO_CACHE_DIR=1

# Prefixes each line of stdin with the seconds since $1.
stamp() {
  local start="$1"
  while IFS= read -r line; do printf '%d %s\n' $(($(date +%s) - start)) "$line"; done
}

# A fresh clone with empty caches of its own.
fresh() {
  local name="$1"
  git clone -q "$root" "$work/$name"
  mkdir -p "$work/$name-cargo" "$work/$name-npm"
}

# --- make dev ---
fresh dev
(
  cd "$work/dev"
  export CARGO_HOME="$work/dev-cargo" npm_config_cache="$work/dev-npm"
  start=$(date +%s)
  # In a session of its own, whose id is written down, so that all of it can be stopped
  # however this part ends.
  PORT="$port" EMULATOR_PORT=$((port + 10)) setsid bash -c 'echo $$ >"$1"; exec make dev' _ "$work/dev.pid" \
    2>&1 | stamp "$start" >"$work/dev.log" &
  # Stops the group, and waits (bounded) until dev.sh has cleaned up, so that nothing of
  # it competes with the reference build that follows.
  stop_dev() {
    local group
    group="$(cat "$work/dev.pid" 2>/dev/null)" || return 0
    kill -TERM -- "-$group" 2>/dev/null || return 0
    for _ in $(seq 150); do
      kill -0 -- "-$group" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -KILL -- "-$group" 2>/dev/null || true
  }
  trap stop_dev EXIT
  while ! grep -q "the page is interactive" "$work/dev.log"; do
    t=$(($(date +%s) - start))
    if [ -f "$work/dev.pid" ] && ! kill -0 -- "-$(cat "$work/dev.pid")" 2>/dev/null; then
      echo "make dev exited before the page was interactive; see $work/dev.log"
      exit 1
    fi
    # (Not `curl | grep -q`: under pipefail, grep leaving early fails the pipeline.)
    if [ ! -f "$work/live" ] && curl -sf --max-time 10 -o "$work/page.html" "http://127.0.0.1:$port/" 2>/dev/null &&
      grep -q 'role="gridcell"' "$work/page.html"; then
      echo "$t" >"$work/live"
    fi
    grep -q "did not build" "$work/dev.log" && { echo "the page's code did not build"; exit 1; }
    [ "$t" -gt 2400 ] && { echo "make dev did not finish within 40 minutes"; exit 1; }
    sleep 1
  done
  # A later run's edit: one line of functions/api changed under the running make dev,
  # timed until the API answers with it (cargo lambda watch rebuilds and restarts).
  sed -i 's/"status": "ok",/"status": "ok, edited",/' functions/api/src/handlers.rs
  grep -q '"ok, edited"' functions/api/src/handlers.rs || { echo "the edit did not apply"; exit 1; }
  edited=$(date +%s)
  until curl -sf --max-time 10 -o "$work/health.json" "http://127.0.0.1:$port/health" 2>/dev/null &&
    grep -q '"ok, edited"' "$work/health.json"; do
    [ $(($(date +%s) - edited)) -gt 600 ] && { echo "the edit was not served within 10 minutes"; exit 1; }
    sleep 0.5
  done
  echo $(($(date +%s) - edited)) >"$work/edit"
)

# --- the reference: a bare lambda_http hello world, as cold ---
mkdir -p "$work/ref-cargo"
ref_start=$(date +%s)
(cd "$work/dev" && CARGO_HOME="$work/ref-cargo" CARGO_TARGET_DIR="$work/ref-target" \
  cargo build -q -p primescaler-hello)
ref=$(($(date +%s) - ref_start))

# --- make test ---
if [ "${BENCH_FIRST_RUN_TEST:-0}" = 1 ]; then
  fresh test
  (
    cd "$work/test"
    export CARGO_HOME="$work/test-cargo" npm_config_cache="$work/test-npm"
    start=$(date +%s)
    set +e
    make test 2>&1 | stamp "$start" >"$work/test.log"
    echo "$(($(date +%s) - start)) EXIT ${PIPESTATUS[0]}" >>"$work/test.log"
  )
fi

python3 - "$root" "$work" "$ref" <<'PY'
import pathlib, re, subprocess, sys

root, work, ref = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])

def lines(name):
    path = work / name
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        t, _, text = line.partition(" ")
        if t.isdigit():
            out.append((int(t), text))
    return out

def first(log, pattern):
    return next((t for t, text in log if re.search(pattern, text)), None)

def steps(log, marks, end):
    """(label, seconds) for each mark found, up to the next mark or `end`."""
    found = [(label, first(log, pattern)) for label, pattern in marks]
    found = sorted(((label, t) for label, t in found if t is not None), key=lambda x: x[1])
    rows = []
    for i, (label, t) in enumerate(found):
        nxt = found[i + 1][1] if i + 1 < len(found) else end
        rows.append((label, nxt - t))
    return rows

def fmt(s):
    return "—" if s is None else f"{s // 60} m {s % 60:02d} s"

dev = lines("dev.log")
live_file = work / "live"
live = int(live_file.read_text()) if live_file.exists() else None
edit_file = work / "edit"
edit = int(edit_file.read_text()) if edit_file.exists() else None
interactive = first(dev, r"the page is interactive")
dev_marks = [
    ("tools: cargo-lambda and CMake (pip), dynalite (npm)", r"\[make\] installing cargo-lambda"),
    ("three emulators up", r"infra/dev\.sh$"),
    ("create-tables: the crate registry, its first build", r"creating the tables"),
    ("the page's CSS (npm ci, Tailwind)", r"styling the page"),
    ("the functions' first build, until the grid answers", r"building the functions"),
    ("the page's code: page-bindgen (once), the wasm", r"PrimeScaler is running"),
]
dev_rows = steps(dev, dev_marks, interactive or (dev[-1][0] if dev else 0))

test = lines("test.log")
test_end = first(test, r"^EXIT ")
test_exit = next((text.split()[1] for t, text in test if text.startswith("EXIT ")), None)
test_marks = [
    ("tools (pip, npm)", r"installing cargo-lambda"),
    ("primesieve, primecount (apt)", r"installing primesieve and primecount"),
    ("Chromium (apt)", r"installing chromium"),
    ("rustfmt (the test tools install beside the next steps)", r"\] installing the test tools"),
    ("the page's code (page-bindgen once, release wasm with clippy's lints)", r"\] the page's code"),
    ("cargo test: the build, with clippy's lints", r"\] cargo test: the workspace's build"),
    ("cargo test: the tests", r"\] cargo test: unit, handler"),
    ("template checks (cfn-lint, sam validate)", r"\] the template"),
    ("smoke test of make dev (browser suite included)", r"\] smoke test of make dev"),
]
test_rows = steps(test, test_marks, test_end or 0) if test else []

head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                      capture_output=True, text=True).stdout.strip()
date = subprocess.run(["date", "-u", "+%Y-%m-%d"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()

out = [
    "## First run: a fresh clone to a live grid, and `make test`\n",
    "Command: `infra/bench-first-run.sh` (`BENCH_FIRST_RUN_TEST=1` adds `make test`).  ",
    f"Machine: {cpu}, {cores} cores; {date}; commit {head}. A fresh clone of HEAD with an empty "
    "CARGO_HOME (the crate registry downloaded again), no `target/`, no pip or npm cache; "
    "the Rust toolchain, the wasm32 target and apt's packages stay installed.\n",
    "| figure | time | target |",
    "|---|---:|---:|",
    f"| `make dev`: a live grid (the page answers with its cells) | {fmt(live)} | ≤ 10 m |",
    f"| `make dev`: the page interactive (its code built) | {fmt(interactive)} | ≤ 12 m |",
    f"| a later edit: one line of `functions/api` changed under `make dev`, until the API serves it | {fmt(edit)} | ≤ 60 s |",
]
if test:
    status = "" if test_exit == "0" else f" (exit {test_exit})"
    out.append(f"| `make test`{status} | {fmt(test_end)} | ≤ 12 m |")
out.append(f"| reference: `cargo build -p primescaler-hello` (a bare lambda_http hello world), as cold | {fmt(ref)} | |\n")
out.append("`make dev`, step by step (each from its first line to the next step's):\n")
out.append("| step | time |")
out.append("|---|---:|")
out += [f"| {label} | {fmt(s)} |" for label, s in dev_rows]
if test_rows:
    out.append("\n`make test`, step by step:\n")
    out.append("| step | time |")
    out.append("|---|---:|")
    out += [f"| {label} | {fmt(s)} |" for label, s in test_rows]
section = "\n".join(out) + "\n"
print(section)

path = root / "docs/benchmarks.md"
doc = path.read_text()
start, end = "<!-- bench:first-run:start -->", "<!-- bench:first-run:end -->"
block = f"{start}\n{section}{end}"
if start in doc and end in doc:
    doc = doc[: doc.index(start)] + block + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip() + "\n\n" + block + "\n"
path.write_text(doc)
print("written to docs/benchmarks.md")
PY
mkdir -p "$root/target/first-run"
cp "$work"/*.log "$root/target/first-run/"
cp "$work/live" "$work/edit" "$root/target/first-run/" 2>/dev/null || true
rm -rf "$work"
