"""Reads `go test -json` and prints what `go test` would, plus every skipped
test by name with its reason, so that nothing is skipped silently. Exits 1
when anything failed."""
import json
import sys

failed = False
outputs = {}  # (package, test) -> lines
skipped = []
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        sys.stdout.write(line)
        continue
    key = (ev.get("Package", ""), ev.get("Test", ""))
    action = ev.get("Action")
    if action == "output":
        outputs.setdefault(key, []).append(ev.get("Output", ""))
        # package summary lines, as go test prints them
        if not key[1] and ev["Output"].startswith(("ok ", "FAIL", "?", "panic")):
            sys.stdout.write(ev["Output"])
    elif action == "build-output":
        sys.stdout.write(ev.get("Output", ""))
    elif action == "build-fail":
        failed = True
    elif action == "skip" and key[1]:
        said = [l.strip() for l in outputs.get(key, []) if l.strip() and not l.lstrip().startswith(("===", "---"))]
        skipped.append("%s %s: %s" % (key[0], key[1], said[-1] if said else "skipped"))
    elif action == "fail":
        failed = True
        if key[1]:
            sys.stdout.write("".join(outputs.get(key, [])))
    if action in ("pass", "skip") and key in outputs and key[1]:
        del outputs[key]
if skipped:
    print("\nSKIPPED (%d):" % len(skipped))
    for s in skipped:
        print("  " + s)
sys.exit(1 if failed else 0)
