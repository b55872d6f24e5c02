#!/usr/bin/env bash
# Opens every messages.svg and timeline.html under DIR (an evsim --out directory) in headless
# Chromium and checks that each drew what its run says:
#   - a screenshot that is not blank (several colours, some ink), kept in $SHOTS (default: a temp dir);
#   - the message arrows and operation boxes in the rendered DOM match the counts the file declares
#     on its root (data-arrows, data-ops), and those match evsim's own figures for the run:
#     run.json's "messages" and results.json's stats count (unless the picture is a window or cut,
#     which it must then say in visible text).
# Installs chromium, imagemagick and python3 with apt when missing. Exit status 1 on any mismatch.
# One line per file: "CHALLENGE/FILE ok arrows=N ..." (the XCTest in EVReportsTests reads it).
set -euo pipefail
dir=${1:?usage: scripts/check-pictures.sh DIR}
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v convert >/dev/null || missing+=(imagemagick)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "check-pictures: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
shots=${SHOTS:-$(mktemp -d)}
mkdir -p "$shots"
browser=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars)
files=$(find "$dir" \( -name messages.svg -o -name timeline.html \) | sort)
[ -n "$files" ] || { echo "check-pictures: no messages.svg or timeline.html under $dir"; exit 1; }
status=0
for file in $files; do
  path=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
  run=$(basename "$(dirname "$path")")
  png="$shots/$run-$(basename "$file" | tr . -).png"
  "${browser[@]}" --window-size=1200,900 --screenshot="$png" "file://$path" >/dev/null 2>&1
  "${browser[@]}" --dump-dom "file://$path" 2>/dev/null >"$shots/dom.txt"
  # Distinct colours, and the share of pixels that are not near-white.
  image=$(convert "$png" -format '%k ' -write info: -colorspace gray -threshold 97% -format '%[fx:1-mean]' info:)
  python3 - "$run/$(basename "$file")" "$(dirname "$path")" "$shots/dom.txt" $image <<'PY' || status=1
import json, os, re, sys
name, rundir, dom_path, colours, ink = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
dom = open(dom_path, encoding="utf-8").read()
problems = []
def root(attr):
    m = re.search(r'\b%s="([^"]*)"' % attr, dom)
    return m.group(1) if m else None
def figure(file, get):
    try:
        with open(os.path.join(rundir, file)) as f: return get(json.load(f))
    except (OSError, KeyError, ValueError): return None
if colours < 5 or ink < 0.005:
    problems.append("screenshot looks blank: %d colours, %.2f%% ink" % (colours, ink * 100))
windowed = root("data-window") is not None
cut = "Cut: only the first" in dom
if name.endswith(".svg"):
    drawn = len(re.findall(r'<(?:line|path) class="m[cse](?: x)?"', dom))
    declared, candidates, run = root("data-arrows"), root("data-candidates"), figure("run.json", lambda j: j["messages"])
    what, total = "arrows", root("data-messages")
else:
    drawn = len(re.findall(r'<div class="o [kif]"', dom))
    declared, candidates, run = root("data-ops"), root("data-candidates"), figure("results.json", lambda j: j["stats"]["count"])
    what, total = "boxes", root("data-total-ops")
if declared is None or int(declared) != drawn:
    problems.append("%d %s in the DOM, the file declares %s" % (drawn, what, declared))
if run is not None and str(run) != total:
    problems.append("the file counts %s in the run, evsim reported %s" % (total, run))
if not windowed and candidates != total:
    problems.append("not a window, yet %s of %s candidates" % (candidates, total))
if declared is not None and candidates is not None and int(declared) < int(candidates) and not cut:
    problems.append("%s of %s drawn without a visible cut note" % (declared, candidates))
summary = "%s=%d of %s (run: %s)%s, %d colours, %.1f%% ink" % (what, drawn, candidates, run, " window" if windowed else (" cut" if cut else ""), colours, ink * 100)
print("%s %s %s" % (name, "FAILED" if problems else "ok", summary))
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
PY
done
rm -f "$shots/dom.txt"
echo "check-pictures: screenshots in $shots"
exit $status
