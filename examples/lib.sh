# Shared by the examples' setup scripts: strict mode, where to write, and
# the operator's account id. Needs `rolepull` on PATH and a profile
# ($ROLEPULL_PROFILE, default ~/.local/share/rolepull/admin-profile.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
account_of() { rolepull whoami "$@" | sed -n 's/.*"AccountId": "\(.*\)".*/\1/p'; }
A=$(account_of)
# open IDs: let this machine (127.0.0.0/16) reach an instance over the internet
open_instance() {
  rolepull cr internet enable "$1" "${@:2}" >/dev/null 2>&1
  ensure rolepull cr acl add "$1" 127.0.0.0/16 --comment "this machine" "${@:2}" >/dev/null
}
render() { # render TEMPLATE OUTPUT: replace ${NAME} with the variables exported
  sed -e "s/\${ACCOUNT_A}/${A}/g" -e "s/\${ACCOUNT_B}/${B:-}/g" -e "s/\${INSTANCE_ID}/${INSTANCE_ID:-}/g" "$1" > "$2"
  echo "wrote $2"
}
# ensure CMD...: run a command that creates something; that an earlier run
# (or the README's walkthrough, on the same data directory) made it already
# is fine, any other failure is not.
ensure() {
  local msg
  if msg=$("$@" 2>&1); then
    [ -z "$msg" ] || printf '%s\n' "$msg"
    return 0
  fi
  case $msg in
    *AlreadyExist*) echo "exists already: $*" >&2 ;;
    *) printf '%s\n' "$msg" >&2; return 1 ;;
  esac
}
# instance NAME [--profile FILE]: the id of the Enterprise instance NAME,
# created unless it exists
instance() {
  local id
  id=$(rolepull cr instance list "${@:2}" | awk -v n="$1" 'NR > 1 && $2 == n { print $1 }')
  [ -n "$id" ] || id=$(rolepull cr instance create "$1" --type Standard "${@:2}" | sed -n 1p)
  if [ -z "$id" ]; then
    # Instance names are domains, unique in a region across accounts.
    echo "no instance $1 of this account, and it cannot be created (another account holds the name: a run with another OUT?)" >&2
    return 1
  fi
  echo "$id"
}
