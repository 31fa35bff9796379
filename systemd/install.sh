#!/usr/bin/env bash
# Install Dreamwall as a systemd user service for the current user, started with the
# graphical session. Idempotent: running it again changes nothing that is already right.
#
#   systemd/install.sh               install or update (venv, unit, enable)
#   systemd/install.sh --uninstall   remove exactly what installs added, nothing else
#   systemd/install.sh --print-unit  print the unit this checkout would install
#
# What an install added is listed in ${XDG_STATE_HOME:-~/.local/state}/dreamwall/installed,
# so --uninstall leaves alone what was there before (a venv you made, a unit you wrote).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
UNIT_NAME="dreamwall.service"
TEMPLATE="$REPO/systemd/dreamwall.service.in"
UNIT_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
UNIT_PATH="$UNIT_DIR/$UNIT_NAME"
STATE_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/dreamwall"
MANIFEST="$STATE_DIR/installed"
VENV="$REPO/.venv"
PYTHON="$VENV/bin/python"

say() { printf 'dreamwall: %s\n' "$*"; }
die() { printf 'dreamwall: error: %s\n' "$*" >&2; exit 2; }

render_unit() {
    case "$REPO" in
        *'|'* | *'"'* | *$'\n'*) die "the checkout path '$REPO' contains | \" or a newline; move it" ;;
    esac
    # '%' starts a systemd specifier: a literal one is written '%%'. The docs link is a URL.
    local repo="${REPO//%/%%}" python="${PYTHON//%/%%}" url="${REPO//%/%25}"
    url="${url// /%20}"
    url="${url//%/%%}"
    sed -e "s|@REPO_URL@|$url|g" -e "s|@REPO@|$repo|g" -e "s|@PYTHON@|$python|g" "$TEMPLATE"
}

recorded() { [ -f "$MANIFEST" ] && grep -qxF "$1" "$MANIFEST"; }

record() {
    recorded "$1" && return 0
    mkdir -p "$STATE_DIR"
    printf '%s\n' "$1" >>"$MANIFEST"
}

# mkdir -p that records each folder it creates, so --uninstall removes only those.
make_dir() {
    local dir="$1" missing=()
    while [ ! -d "$dir" ]; do
        missing=("$dir" "${missing[@]}")
        dir="$(dirname "$dir")"
    done
    for dir in "${missing[@]}"; do
        mkdir -p "$dir"
        [ "$dir" = "$STATE_DIR" ] || record "dir $dir"  # the manifest's folder goes with the manifest
    done
}

user_systemctl() {
    systemctl --user "$@" || die "'systemctl --user $*' failed: no user service manager reachable? Run this \
from the kiosk user's desktop session (or over ssh after: sudo loginctl enable-linger $(id -un))"
}

install() {
    command -v systemctl >/dev/null || die "systemctl not found: this installer needs systemd"
    make_dir "$STATE_DIR"

    if [ -x "$PYTHON" ]; then
        say "venv: $VENV exists; bringing its packages up to date"
    else
        command -v make >/dev/null || die "make not found: install it (sudo apt install make) and run this again"
        record "venv $VENV"  # recorded first: a half-made venv is still ours to remove
        say "venv: creating $VENV (a few minutes)"
    fi
    make -C "$REPO" venv

    local rendered
    rendered="$(render_unit)"
    if [ -f "$UNIT_PATH" ] && [ "$(cat "$UNIT_PATH")" = "$rendered" ]; then
        say "unit: $UNIT_PATH is up to date"
    else
        if [ -e "$UNIT_PATH" ] && ! recorded "unit $UNIT_PATH"; then
            die "$UNIT_PATH exists and was not installed by this script; move it away and run this again"
        fi
        make_dir "$UNIT_DIR"
        record "unit $UNIT_PATH"
        printf '%s\n' "$rendered" >"$UNIT_PATH.tmp.$$"
        mv -f "$UNIT_PATH.tmp.$$" "$UNIT_PATH"
        say "unit: wrote $UNIT_PATH"
        user_systemctl daemon-reload
    fi

    if systemctl --user is-enabled --quiet "$UNIT_NAME" 2>/dev/null; then
        say "unit: already enabled"
    else
        record "enabled $UNIT_NAME"
        # systemctl makes this folder for the enable link but never removes it: it is ours.
        make_dir "$UNIT_DIR/graphical-session.target.wants"
        user_systemctl enable "$UNIT_NAME"
        say "unit: enabled; it starts with your next graphical login"
    fi

    cat <<EOF

Dreamwall is installed for $(id -un).
  start now:     systemctl --user start dreamwall
  see the logs:  journalctl --user -u dreamwall -f
  status:        systemctl --user status dreamwall
  stop it:       systemctl --user stop dreamwall      (until the next login)
  don't autostart: systemctl --user disable dreamwall
  options:       put DREAMWALL_ARGS="--schedule FILE --osc-port 9000" in ~/.config/dreamwall/environment
  remove:        $REPO/systemd/install.sh --uninstall
EOF
}

uninstall() {
    if [ ! -f "$MANIFEST" ]; then
        say "nothing to remove: no install recorded in $MANIFEST"
        return 0
    fi
    if recorded "enabled $UNIT_NAME"; then
        systemctl --user disable --now "$UNIT_NAME" || say "could not disable $UNIT_NAME (already gone?)"
        say "unit: disabled and stopped"
    fi
    if recorded "unit $UNIT_PATH"; then
        rm -f "$UNIT_PATH"
        systemctl --user daemon-reload || say "daemon-reload failed; systemd forgets the unit at next login"
        say "unit: removed $UNIT_PATH"
    fi
    local dirs dir
    dirs="$(grep '^dir ' "$MANIFEST" | cut -c5- | sort -r || true)"
    if recorded "venv $VENV"; then
        rm -rf "$VENV"
        say "venv: removed $VENV"
    fi
    rm -f "$MANIFEST"
    rmdir "$STATE_DIR" 2>/dev/null || true
    # Folders we made, deepest first, and only while empty (something of yours may be in them).
    while IFS= read -r dir; do
        [ -n "$dir" ] && { rmdir "$dir" 2>/dev/null || true; }
    done <<<"$dirs"
    say "uninstalled; files you made (like ~/.config/dreamwall/environment) are left in place"
}

case "${1:-}" in
    "") install ;;
    --uninstall) uninstall ;;
    --print-unit) render_unit ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown option '$1'; use --uninstall, --print-unit or --help" ;;
esac
