#!/usr/bin/env bash
# The seed's "restrict which instances support secret-free pulling": a role
# trusted by ECI that may pull from instance test1 only (not test2).
. "$(dirname "$0")/../lib.sh"
INSTANCE_ID=$(instance test1)
OTHER=$(instance test2)
open_instance "$INSTANCE_ID"; open_instance "$OTHER"
rolepull cr sample-image "$out/image" >/dev/null
rolepull cr push "$out/image" test1-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0 2>/dev/null
rolepull cr push "$out/image" test2-registry.cn-hangzhou.cr.aliyuncs.com/eci_test/nginx:1.0 2>/dev/null
render "$here/acr-test-pull.json" "$out/acr-test-pull.json"
ensure rolepull role create acr-test --trusted-service eci.aliyuncs.com
# The policy names this run's instance: one an earlier run (or the README's
# walkthrough) made for another instance is replaced.
rolepull policy detach acr-test-pull --role acr-test >/dev/null 2>&1 || true
rolepull policy delete acr-test-pull >/dev/null 2>&1 || true
rolepull policy create acr-test-pull -f "$out/acr-test-pull.json"
ensure rolepull policy attach acr-test-pull --role acr-test
render "$here/deployment.yaml" "$out/deployment.yaml"
render "$here/deployment-other-instance.yaml" "$out/deployment-other-instance.yaml"
