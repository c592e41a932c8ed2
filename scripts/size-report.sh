#!/usr/bin/env bash
# Build report: gzipped bytes of what the first screen loads (wasm + js + css
# from dist/). Fails when over the 250 KB budget.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((250 * 1024))
total=0
for f in dist/*.wasm dist/*.js dist/*.css; do
  [ -e "$f" ] || continue
  # The service worker and the password page are not loaded by the first screen.
  case "$f" in dist/sw.js|dist/password.*) continue ;; esac
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total=$((total + gz))
  printf '%-48s raw %8d B  gzip %8d B\n' "$(basename "$f")" "$raw" "$gz"
done
printf 'first screen total (gzip): %d B = %.1f KB of %d KB budget\n' "$total" "$(awk "BEGIN{print $total/1024}")" $((budget / 1024))
if [ "$total" -gt "$budget" ]; then
  echo "over budget" >&2
  exit 1
fi
# The volunteer-activities bundle is a volunteer's first screen: same budget.
atotal=0
for f in dist/activities/*.wasm dist/activities/*.js dist/activities/*.css; do
  [ -e "$f" ] || continue
  atotal=$((atotal + $(gzip -9 -c "$f" | wc -c)))
done
printf 'volunteer activities (dist/activities, gzip): %d B = %.1f KB of %d KB budget\n' "$atotal" "$(awk "BEGIN{print $atotal/1024}")" $((budget / 1024))
if [ "$atotal" -gt "$budget" ]; then
  echo "activities bundle over budget" >&2
  exit 1
fi
# The coordinators' console is a bundle of its own, loaded only under /admin.
ctotal=0
for f in dist/admin/*.wasm dist/admin/*.js dist/admin/*.css; do
  [ -e "$f" ] || continue
  ctotal=$((ctotal + $(gzip -9 -c "$f" | wc -c)))
done
printf 'coordinator console (dist/admin, gzip): %d B = %.1f KB (not on the members'"'"' first screen)\n' "$ctotal" "$(awk "BEGIN{print $ctotal/1024}")"
