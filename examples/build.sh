#!/usr/bin/env bash
# A small build script: the bundled example the README runs.
set -euo pipefail

out=${OUT_DIR:-build}
mkdir -p "$out"

for src in src/*.txt; do
  name=$(basename "$src" .txt)
  tr '[:lower:]' '[:upper:]' < "$src" > "$out/$name.upper" &
done
wait

if [[ -f "$out/readme.upper" && $(wc -l < "$out/readme.upper") -gt 0 ]]; then
  echo "built $(ls "$out" | wc -l) files"
fi

case "${1:-}" in
  clean) rm -rf -- "$out" ;;
  *) : ;;
esac
