#!/usr/bin/env bash
# Rebuild three.bundle.min.js from the npm registry: three.js and its OrbitControls, the names entry.js
# exports, as one minified classic script that defines the global IGD3 (no modules, works from file://).
set -euo pipefail
THREE=0.187.0
ESBUILD=0.28.2
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "three@$THREE" "esbuild@$ESBUILD"
cp "$here/entry.js" .
npx esbuild entry.js --bundle --minify --format=iife --global-name=IGD3 --target=es2020 --legal-comments=eof \
  --banner:js="/*! three.js r$(echo "$THREE" | cut -d. -f2) (npm three@$THREE) with OrbitControls, MIT licence (LICENSE-three.txt); bundled by esbuild $ESBUILD from entry.js */" \
  --outfile="$here/three.bundle.min.js"
cp node_modules/three/LICENSE "$here/LICENSE-three.txt"
