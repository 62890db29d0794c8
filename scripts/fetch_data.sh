#!/usr/bin/env bash
# scripts/fetch_data.sh — put the tiny Shakespeare corpus at data/shakespeare/input.txt.
#
# Sources, in order: the file already there (if its sha256 matches), the offline copy at
# ${SHARED_DIR:-../shared}/data/tinyshakespeare.txt, then char-rnn's canonical URL with curl.
# The sha256 is checked every time; a mismatch is an error naming the file.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=data/shakespeare/input.txt
SHA=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
URL=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
SHARED="${SHARED_DIR:-../shared}/data/tinyshakespeare.txt"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
mkdir -p "$(dirname "$OUT")"

if [ -f "$OUT" ]; then
  if [ "$(sha_of "$OUT")" = "$SHA" ]; then echo "fetch_data: $OUT ok (sha256 matches)" >&2; exit 0; fi
  echo "fetch_data: $OUT: sha256 mismatch, fetching it again" >&2
fi

tmp="$OUT.tmp.$$"
trap 'rm -f "$tmp"' EXIT
if [ -f "$SHARED" ]; then
  if [ "$(sha_of "$SHARED")" != "$SHA" ]; then
    echo "fetch_data: $SHARED: sha256 mismatch (expected $SHA)" >&2; exit 1
  fi
  cp "$SHARED" "$tmp"
  echo "fetch_data: copied $SHARED" >&2
else
  echo "fetch_data: downloading $URL" >&2
  if ! curl -fsSL --retry 3 -o "$tmp" "$URL"; then
    echo "fetch_data: download of $URL failed (offline? put the file at $OUT)" >&2; exit 1
  fi
fi
if [ "$(sha_of "$tmp")" != "$SHA" ]; then
  echo "fetch_data: $URL: sha256 mismatch (expected $SHA)" >&2; exit 1
fi
mv "$tmp" "$OUT"
echo "fetch_data: $OUT ok ($(stat -c %s "$OUT") bytes, sha256 matches)" >&2
