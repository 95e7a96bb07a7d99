#!/usr/bin/env bash
# The seed's "Enterprise Edition instance with a custom domain name (same
# account)": images on a custom domain pull secret-free only when the pod
# names the instance in k8s.aliyun.com/acr-instance-ids.
. "$(dirname "$0")/../lib.sh"
INSTANCE_ID=$(instance testcd)
open_instance "$INSTANCE_ID"
ensure rolepull cr domain add "$INSTANCE_ID" testcd-registry.example.com >/dev/null
rolepull cr sample-image "$out/image" >/dev/null
rolepull cr push "$out/image" testcd-registry.example.com/eci_test/nginx:1.0 2>/dev/null
export INSTANCE_ID
render "$here/deployment.yaml" "$out/deployment.yaml"
render "$here/imagecache.yaml" "$out/imagecache.yaml"
