#!/usr/bin/env bash
# The seed's "pull images across accounts": account A (the operator's) runs
# the pods; account B owns the registry. role-assume (A, trusted by ECI, may
# call AssumeRole) chains into role-acr (B, trusted by role-assume only).
. "$(dirname "$0")/../lib.sh"
# Account B: the one an earlier run made (its profile in $out), or a new one.
if ! rolepull whoami --profile "$out/acct-b.json" >/dev/null 2>&1; then
  rolepull account create "acct-b-$RANDOM" > "$out/acct-b.json"
  chmod 600 "$out/acct-b.json"
fi
b=(--profile "$out/acct-b.json")
B=$(account_of "${b[@]}")
INSTANCE_ID=$(instance testxa "${b[@]}")
open_instance "$INSTANCE_ID" "${b[@]}"
ensure rolepull cr domain add "$INSTANCE_ID" testxa-registry.example.com "${b[@]}" >/dev/null
rolepull cr sample-image "$out/image" >/dev/null
rolepull cr push "$out/image" testxa-registry.example.com/eci_test/nginx:1.0 "${b[@]}" 2>/dev/null
# Account A: role-assume, trusted by ECI, allowed to call AssumeRole.
ensure rolepull role create role-assume --trusted-service eci.aliyuncs.com
ensure rolepull policy attach AliyunSTSAssumeRoleAccess --role role-assume
# Account B: role-acr, trusted by account A, allowed to pull ...
ensure rolepull role create role-acr --trusted-account "$A" "${b[@]}"
ensure rolepull policy attach AliyunContainerRegistryFullAccess --role role-acr "${b[@]}"
# ... then restricted to role-assume only, as the seed recommends.
rolepull role trust role-acr --trusted-role "acs:ram::$A:role/role-assume" "${b[@]}"
export B INSTANCE_ID
render "$here/deployment.yaml" "$out/deployment.yaml"
render "$here/imagecache.yaml" "$out/imagecache.yaml"
