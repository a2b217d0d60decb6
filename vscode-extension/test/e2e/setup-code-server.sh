#!/usr/bin/env bash
# Install real VS Code (code-server 4.100.3 = VS Code 1.100.3) for the end-to-end test, offline-safe:
# the package's postinstall downloads prebuilt binaries, so its steps are done here by hand.
set -euo pipefail
DEST="${1:?destination folder}"
VERSION=4.100.3
if [ -x "$DEST/node_modules/.bin/code-server" ] && [ -f "$DEST/.ready" ]; then exit 0; fi
mkdir -p "$DEST"
cd "$DEST"
npm install --ignore-scripts --no-audit --no-fund --loglevel=error "code-server@$VERSION" >/dev/null
CS="$DEST/node_modules/code-server"
( cd "$CS/lib/vscode" && npm install --omit=dev --ignore-scripts --unsafe-perm --no-audit --no-fund --loglevel=error >/dev/null \
  && rm -rf node_modules.asar && ln -s node_modules node_modules.asar \
  && ( cd bin/remote-cli && ln -sf code-linux.sh code-server ) \
  && ( cd bin/helpers && ln -sf browser-linux.sh browser.sh ) \
  && ( cd extensions && npm install --omit=dev --ignore-scripts --unsafe-perm --no-audit --no-fund --loglevel=error >/dev/null ) )
# argon2 (password hashing) has no prebuilt binary offline: build it from source, against the
# system Node headers, through its own node-pre-gyp (never trying the download)
( cd "$DEST/node_modules/argon2" && npm_config_nodedir=/usr ../.bin/node-pre-gyp install --build-from-source >/dev/null )
# ripgrep ships as a downloaded binary: use Debian's when present (only workspace search needs it)
RG_DIR="$CS/lib/vscode/node_modules/@vscode/ripgrep/bin"
if command -v rg >/dev/null; then mkdir -p "$RG_DIR" && cp "$(command -v rg)" "$RG_DIR/rg"; fi
touch "$DEST/.ready"
