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
  rolepull cr acl add "$1" 127.0.0.0/16 --comment "this machine" "${@:2}" >/dev/null
}
render() { # render TEMPLATE OUTPUT: replace ${NAME} with the variables exported
  sed -e "s/\${ACCOUNT_A}/${A}/g" -e "s/\${ACCOUNT_B}/${B:-}/g" -e "s/\${INSTANCE_ID}/${INSTANCE_ID:-}/g" "$1" > "$2"
  echo "wrote $2"
}
