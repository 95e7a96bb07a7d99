package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const (
	host   = "test1-registry.cn-hangzhou.cr.aliyuncs.com"
	vpcDom = "test1-registry-vpc.cn-hangzhou.cr.aliyuncs.com"
	custom = "registry.demo.example"
)

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatalf("random.Image: %v", err)
	}
	return img
}

func digestOf(t *testing.T, d partial.Describable) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// blobLines is what cr push reports for an image's blobs: each layer, then
// the config, all in state ("pushed" or "exists").
func blobLines(t *testing.T, img v1.Image, state string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := partial.ConfigLayer(img)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, l := range append(layers, cl) {
		kind := "layer"
		if i == len(layers) {
			kind = "config"
		}
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %s (%d bytes)\n", state, kind, digestOf(t, l), size)
	}
	return b.String()
}

// TestContainerRegistryWalkthrough drives the README's Container Registry
// walkthrough through cli.Main against a node: a VPC and vSwitch, an
// instance opened to this machine, a bound VPC, a custom domain, a
// namespace; pushes of OCI layouts (one image, a pick among several, an
// index) and of a docker save tarball; tags; a pull back; the credential
// helper; then closing the network and taking everything down again.
func TestContainerRegistryWalkthrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	vpc := e.capture(`(vpc-[a-z0-9]+) 127\.11\.0\.0/16\n`, "vpc", "create", "demo")[1]
	vsw := e.capture(`(vsw-[a-z0-9]+) 127\.11\.1\.0/24\n`, "vpc", "vswitch", "create", vpc, "--zone", "cn-hangzhou-b", "--name", "web")[1]
	e.want([]string{"vpc", "list"}, tableOf(
		[]string{"VPC ID", "NAME", "CIDR", "VSWITCHES", "CREATED"},
		[]string{vpc, "demo", "127.11.0.0/16", vsw, e.start}), "", 0)
	vswRows := tableOf(
		[]string{"VSWITCH ID", "VPC ID", "ZONE", "NAME", "CIDR"},
		[]string{vsw, vpc, "cn-hangzhou-b", "web", "127.11.1.0/24"})
	e.want([]string{"vpc", "vswitch", "list"}, vswRows, "", 0)
	e.want([]string{"vpc", "vswitch", "list", vpc}, vswRows, "", 0)

	id := e.capture(`(cri-[a-z0-9]+)\n  `+regexp.QuoteMeta(host)+` \(internet\)\n  `+regexp.QuoteMeta(vpcDom)+` \(vpc\)\n`,
		"cr", "instance", "create", "test1", "--type", "Standard")[1]
	e.want([]string{"cr", "internet", "enable", id}, "internet access of "+id+" is on\n",
		"note: the allow-list is empty, so no address is admitted yet: rolepull cr acl add "+id+" CIDR\n", 0)
	e.want([]string{"cr", "acl", "add", id, "127.0.0.0/16", "--comment", "this machine"}, id+" admits 127.0.0.0/16 on its internet endpoint\n", "", 0)
	ip := e.capture(regexp.QuoteMeta(id+" admits "+vpc+" through "+vsw+" (address ")+`(127\.11\.1\.\d+)\) on its -vpc domain\n`,
		"cr", "vpc", "link", id, "--vpc", vpc, "--vswitch", vsw)[1]
	e.want([]string{"cr", "domain", "add", id, custom}, custom+" reaches "+id+" (internet endpoint)\n", "", 0)
	e.want([]string{"cr", "namespace", "create", id, "demo", "--auto-create-repo"}, "namespace demo created in "+id+"\n", "", 0)
	e.want([]string{"cr", "namespace", "list", id}, tableOf(
		[]string{"NAMESPACE", "AUTO-CREATE REPO", "DEFAULT REPO TYPE"},
		[]string{"demo", "true", "PRIVATE"}), "", 0)
	repoID := e.capture(`repository demo/other created in `+id+` \((crr-[a-z0-9]+), PUBLIC\)\n`, "cr", "repo", "create", id, "demo/other", "--public")[1]
	e.want([]string{"cr", "repo", "list", id, "--namespace", "demo"}, tableOf(
		[]string{"REPOSITORY", "TYPE", "REPO ID", "CREATED"},
		[]string{"demo/other", "PUBLIC", repoID, e.start}), "", 0)

	e.want([]string{"cr", "instance", "get", id}, fmt.Sprintf(`Instance:        %s
Name:            test1
Specification:   Enterprise_Standard
Region:          cn-hangzhou
Status:          RUNNING
Created:         %s
Domains:
`, id, e.start)+tableOf(
		[]string{"  DOMAIN", "TYPE", "NETWORK"},
		[]string{"  " + host, "SYSTEM", "internet"},
		[]string{"  " + custom, "USER", "internet"},
		[]string{"  " + vpcDom, "SYSTEM", "vpc"})+
		"Internet access: on; allow-list:\n"+tableOf(
		[]string{"  CIDR", "COMMENT"},
		[]string{"  127.0.0.0/16", "this machine"})+
		"Linked VPCs:\n"+tableOf(
		[]string{"  VPC ID", "VSWITCH ID", "ADDRESS"},
		[]string{"  " + vpc, vsw, ip}), "", 0)
	e.want([]string{"cr", "instance", "list"}, tableOf(
		[]string{"INSTANCE ID", "NAME", "SPECIFICATION", "REGION", "STATUS", "CREATED"},
		[]string{id, "test1", "Enterprise_Standard", "cn-hangzhou", "RUNNING", e.start}), "", 0)

	// Push an OCI layout with one image, then the same again: every blob
	// is already there.
	img := randomImage(t)
	d := digestOf(t, img)
	dir := writeLayout(t, tagged{tag: "1.0", img: img})
	e.want([]string{"cr", "push", dir, host + "/demo/app:1.0"}, host+"/demo/app@"+d+"\n",
		blobLines(t, img, "pushed")+"pushed manifest "+d+" to "+host+"/demo/app:1.0\n", 0)
	e.want([]string{"cr", "import", dir + ":1.0", host + "/demo/app:again"}, host+"/demo/app@"+d+"\n",
		blobLines(t, img, "exists")+"pushed manifest "+d+" to "+host+"/demo/app:again\n", 0)
	e.want([]string{"cr", "push", dir, custom + "/demo/app:custom"}, custom+"/demo/app@"+d+"\n",
		blobLines(t, img, "exists")+"pushed manifest "+d+" to "+custom+"/demo/app:custom\n", 0)

	// A layout with several images: pick one by tag or digest.
	img1, img2 := randomImage(t), randomImage(t)
	d1, d2 := digestOf(t, img1), digestOf(t, img2)
	multi := writeLayout(t, tagged{tag: "v1", img: img1}, tagged{tag: "v2", img: img2})
	holds := "v1 " + d1 + ", v2 " + d2
	e.want([]string{"cr", "push", multi, host + "/demo/app:v2"}, "",
		"rolepull: SRC "+multi+" holds 2 images: pick one with "+multi+":TAG or "+multi+"@DIGEST ("+holds+")\n", 1)
	e.want([]string{"cr", "push", multi + ":v9", host + "/demo/app:v2"}, "",
		"rolepull: SRC "+multi+":v9: no such image in the layout; it holds: "+holds+"\n", 1)
	e.want([]string{"cr", "push", multi + ":v2", host + "/demo/app:v2"}, host+"/demo/app@"+d2+"\n",
		blobLines(t, img2, "pushed")+"pushed manifest "+d2+" to "+host+"/demo/app:v2\n", 0)
	e.want([]string{"cr", "push", multi + "@" + d1, host + "/demo/app:v1"}, host+"/demo/app@"+d1+"\n",
		blobLines(t, img1, "pushed")+"pushed manifest "+d1+" to "+host+"/demo/app:v1\n", 0)

	// A docker save tarball (as go-containerregistry writes one).
	tarImg := randomImage(t)
	tarFile := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(tarFile, name.MustParseReference("app:tar"), tarImg); err != nil {
		t.Fatalf("tarball.WriteToFile: %v", err)
	}
	fromTar, err := tarball.ImageFromPath(tarFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	dTar := digestOf(t, fromTar)
	e.want([]string{"cr", "push", tarFile, host + "/demo/app:tar"}, host+"/demo/app@"+dTar+"\n",
		blobLines(t, fromTar, "pushed")+"pushed manifest "+dTar+" to "+host+"/demo/app:tar\n", 0)

	// A tarball of several images: pick one by its tag.
	tarA, tarB := randomImage(t), randomImage(t)
	multiTar := filepath.Join(t.TempDir(), "multi.tar")
	if err := tarball.MultiWriteToFile(multiTar, map[name.Tag]v1.Image{
		name.MustParseReference("app:a").(name.Tag): tarA, name.MustParseReference("app:b").(name.Tag): tarB}); err != nil {
		t.Fatalf("tarball.MultiWriteToFile: %v", err)
	}
	e.want([]string{"cr", "push", multiTar, host + "/demo/app:b"}, "",
		"rolepull: SRC "+multiTar+" holds 2 images: pick one with "+multiTar+":REPO:TAG (tags: app:a, app:b)\n", 1)
	fromTarB, err := tarball.ImageFromPath(multiTar, ptr(name.MustParseReference("app:b").(name.Tag)))
	if err != nil {
		t.Fatal(err)
	}
	dTarB := digestOf(t, fromTarB)
	e.want([]string{"cr", "push", multiTar + ":app:b", host + "/demo/app:b"}, host+"/demo/app@"+dTarB+"\n",
		blobLines(t, fromTarB, "pushed")+"pushed manifest "+dTarB+" to "+host+"/demo/app:b\n", 0)

	// An index: every child's blobs, then the index.
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	dIdx := digestOf(t, idx)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var idxLines string
	for _, m := range im.Manifests {
		child, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		idxLines += blobLines(t, child, "pushed")
	}
	e.want([]string{"cr", "push", writeLayout(t, tagged{tag: "multi", idx: idx}), host + "/demo/multi:1"}, host+"/demo/multi@"+dIdx+"\n",
		idxLines+"pushed index "+dIdx+" to "+host+"/demo/multi:1\n", 0)

	// The tags, newest first: their times come from the registry's
	// storage (or are unknown, "-"), so rows are compared by tag and
	// digest.
	out := e.must("cr", "tags", id, "demo/app")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "TAG DIGEST SIZE UPDATED" {
		t.Fatalf("cr tags printed %q, want the header TAG DIGEST SIZE UPDATED first", out)
	}
	row := regexp.MustCompile(`\A(\S+) +(sha256:[0-9a-f]{64}) +([1-9]\d*) +(-|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\z`)
	gotTags := map[string]string{}
	for _, l := range lines[1:] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("cr tags row %q is not TAG DIGEST SIZE UPDATED", l)
		}
		gotTags[m[1]] = m[2]
	}
	wantTags := map[string]string{"1.0": d, "again": d, "custom": d, "v1": d1, "v2": d2, "tar": dTar, "b": dTarB}
	if fmt.Sprint(gotTags) != fmt.Sprint(wantTags) {
		t.Errorf("cr tags %s demo/app = %v, want %v", id, gotTags, wantTags)
	}

	// Pull back into a new layout, then an index into the same layout.
	pulled := filepath.Join(t.TempDir(), "pulled")
	e.want([]string{"cr", "pull", host + "/demo/app:1.0", pulled}, host+"/demo/app@"+d+"\n",
		"pulled "+host+"/demo/app:1.0 ("+d+") into "+pulled+"\n", 0)
	e.want([]string{"cr", "pull", custom + "/demo/multi:1", pulled}, custom+"/demo/multi@"+dIdx+"\n",
		"pulled "+custom+"/demo/multi:1 ("+dIdx+") into "+pulled+"\n", 0)
	lp, err := layout.FromPath(pulled)
	if err != nil {
		t.Fatal(err)
	}
	li, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	lim, err := li.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range lim.Manifests {
		got = append(got, m.Annotations["org.opencontainers.image.ref.name"]+"="+m.Digest.String())
	}
	if want := []string{"1.0=" + d, "1=" + dIdx}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the pulled layout holds %v, want %v", got, want)
	}
	back, err := li.Image(v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(d, "sha256:")})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("the pulled image does not validate: %v", err)
	}

	// A temporary password, as JSON.
	var pw struct{ Username, Password, ExpireTime string }
	if err := json.Unmarshal([]byte(e.must("cr", "login-password", id)), &pw); err != nil {
		t.Fatalf("cr login-password: %v", err)
	}
	wantExp := e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if pw.Username != "cr_temp_user" || !strings.HasPrefix(pw.Password, "RPT1.") || pw.ExpireTime != wantExp {
		t.Errorf("cr login-password = {%q, %q…, %q}, want {cr_temp_user, RPT1.…, %q}", pw.Username, pw.Password[:min(5, len(pw.Password))], pw.ExpireTime, wantExp)
	}

	t.Run("RAM decides", func(t *testing.T) {
		e := e.in(t)
		// A RAM user who may pull but not push, and one who may only
		// read the control plane: the registry's refusal says which RAM
		// action on which resource was missing.
		policies := map[string]string{
			"puller": `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*","cr:Pull*"],"Resource":"*"}]}`,
			"reader": `{"Version":"1","Statement":[{"Effect":"Allow","Action":["cr:Get*","cr:List*"],"Resource":"*"}]}`,
		}
		profiles := map[string]string{}
		for _, user := range []string{"puller", "reader"} {
			doc := filepath.Join(t.TempDir(), user+".json")
			if err := os.WriteFile(doc, []byte(policies[user]), 0o600); err != nil {
				t.Fatal(err)
			}
			e.must("user", "create", user)
			profiles[user] = filepath.Join(t.TempDir(), user+"-profile.json")
			if err := os.WriteFile(profiles[user], []byte(e.must("user", "create-key", user)), 0o600); err != nil {
				t.Fatal(err)
			}
			e.must("policy", "create", user+"-policy", "-f", doc)
			e.must("policy", "attach", user+"-policy", "--user", user)
		}
		pulled := filepath.Join(t.TempDir(), "by-puller")
		e.want([]string{"cr", "pull", host + "/demo/app:1.0", pulled, "--profile", profiles["puller"]}, host+"/demo/app@"+d+"\n",
			"pulled "+host+"/demo/app:1.0 ("+d+") into "+pulled+"\n", 0)
		for _, tt := range []struct{ user, args, want string }{
			{"puller", "push", `/blobs/uploads/: UNAUTHORIZED: acs:ram::` + e.n.Operator.ID + `:user/puller is not granted pull,push on repository "demo/denied": cr:PushRepository: `},
			{"reader", "push", "\nthe registry says: acs:ram::" + e.n.Operator.ID + `:user/reader is not granted pull on repository "demo/denied": cr:PushRepository: `},
			{"reader", "pull", `UNAUTHORIZED: acs:ram::` + e.n.Operator.ID + `:user/reader is not granted pull on repository "demo/app": cr:PullRepository: `},
		} {
			args := []string{"cr", "push", dir, host + "/demo/denied:1", "--profile", profiles[tt.user]}
			if tt.args == "pull" {
				args = []string{"cr", "pull", host + "/demo/app:1.0", filepath.Join(t.TempDir(), "denied"), "--profile", profiles[tt.user]}
			}
			r := e.run("", args...)
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "no policy attached to user "+tt.user+" allows it") {
				t.Errorf("cr %s as %s: exit %d, stdout %q, stderr %q; want exit 1 and RAM's reason %q", tt.args, tt.user, r.code, r.stdout, r.stderr, tt.want)
			}
		}
	})

	t.Run("credential-helper", func(t *testing.T) {
		e := e.in(t)
		for _, server := range []string{host, "https://TEST1-registry.cn-hangzhou.cr.aliyuncs.com:443/v2/", custom, vpcDom} {
			r := e.run(server+"\n", "credential-helper", "get")
			var c struct{ ServerURL, Username, Secret string }
			if r.code != 0 || r.stderr != "" || json.Unmarshal([]byte(r.stdout), &c) != nil {
				t.Fatalf("credential-helper get %q: exit %d, stdout %q, stderr %q", server, r.code, r.stdout, r.stderr)
			}
			if c.ServerURL != server || c.Username != "cr_temp_user" {
				t.Errorf("credential-helper get %q = {%q, %q}, want {%q, cr_temp_user}", server, c.ServerURL, c.Username, server)
			}
			// The password is accepted: a pull through the proxy with it.
			ref := name.MustParseReference(host+"/demo/app:1.0", name.Insecure)
			img, err := remote.Image(ref, remote.WithContext(t.Context()), remote.WithTransport(e.proxyTransport()),
				remote.WithAuth(&authn.Basic{Username: c.Username, Password: c.Secret}))
			if err != nil {
				t.Fatalf("remote.Image(%s) with the helper's password for %q: %v", ref, server, err)
			}
			if got := digestOf(t, img); got != d {
				t.Errorf("remote.Image(%s) = %s, want %s", ref, got, d)
			}
		}
		for _, server := range []string{"docker.io", "https://index.docker.io/v1/", "registry.cn-hangzhou.aliyuncs.com", "evil." + host + ".attacker.example"} {
			e.wantStdin(server+"\n", []string{"credential-helper", "get"}, "credentials not found in native keychain\n", "", 1)
		}
		e.wantStdin(`{"ServerURL":"x","Username":"u","Secret":"s"}`, []string{"credential-helper", "store"}, "", "", 0)
		e.wantStdin("x\n", []string{"credential-helper", "erase"}, "", "", 0)
		e.wantStdin("", []string{"credential-helper", "list"}, "{}\n", "", 0)
	})

	t.Run("errors", func(t *testing.T) {
		e := e.in(t)
		for _, tt := range []struct {
			name   string
			args   []string
			stderr string
		}{
			{"no --type", []string{"cr", "instance", "create", "x1"},
				"rolepull: give the edition with --type Basic, Standard or Advanced (Enterprise) or --type Personal\n"},
			{"bad --type", []string{"cr", "instance", "create", "x1", "--type", "Huge"},
				"rolepull: --type \"Huge\": want Basic, Standard or Advanced (Enterprise editions) or Personal\n"},
			{"Enterprise without NAME", []string{"cr", "instance", "create", "--type", "basic"},
				"rolepull: an Enterprise instance (--type Basic) needs a NAME, 3–30 of a-z 0-9 -: rolepull cr instance create NAME --type Basic\n"},
			{"Personal with NAME", []string{"cr", "instance", "create", "p1", "--type", "Personal"},
				"rolepull: a Personal instance is named by its id: drop NAME \"p1\"\n"},
			{"link without --vswitch", []string{"cr", "vpc", "link", id, "--vpc", vpc},
				"rolepull: give --vpc VPC_ID and --vswitch VSWITCH_ID (see `rolepull vpc list` and `rolepull vpc vswitch list VPC_ID`)\n"},
			{"unlink without --vpc", []string{"cr", "vpc", "unlink", id},
				"rolepull: give the VPC to unbind with --vpc VPC_ID (see `rolepull cr instance get ID`)\n"},
			{"repo without namespace", []string{"cr", "tags", id, "app"},
				"rolepull: \"app\": want NAMESPACE/REPOSITORY, such as demo/app\n"},
			{"no such SRC", []string{"cr", "push", "/nonexistent/layout", host + "/demo/app:1"},
				"rolepull: SRC \"/nonexistent/layout\": no such directory or file; want an OCI image layout directory (DIR, DIR:TAG or DIR@DIGEST) or a tarball from docker save\n"},
			{"IMAGE without host", []string{"cr", "push", dir, "demo/app:1"},
				"rolepull: IMAGE \"demo/app:1\": give a full reference on an instance domain, such as test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0\n"},
			{"IMAGE without namespace", []string{"cr", "push", dir, host + "/app:1"},
				"rolepull: IMAGE \"" + host + "/app:1\": the repository must be NAMESPACE/REPO, such as demo/app\n"},
			{"IMAGE on another registry", []string{"cr", "push", dir, "docker.io/demo/app:1"},
				"rolepull: index.docker.io: not a domain of any registry instance of the profile's account (see `rolepull cr instance list` and `rolepull cr instance get ID`)\n"},
			{"IMAGE digest mismatch", []string{"cr", "push", dir, host + "/demo/app@" + d1},
				"rolepull: IMAGE " + host + "/demo/app@" + d1 + " names digest " + d1 + ", but SRC's manifest is " + d + "\n"},
			{"pull into a non-layout", []string{"cr", "pull", host + "/demo/app:1.0", filepath.Dir(tarFile)},
				"rolepull: DIR " + filepath.Dir(tarFile) + " is neither an OCI image layout (it has no index.json) nor empty: pick a new or empty directory\n"},
			{"no profile", []string{"cr", "instance", "list", "--profile", "/nonexistent/profile.json"},
				"rolepull: no profile at /nonexistent/profile.json: start rolepull with `rolepull up`, or pass --profile FILE (or set ROLEPULL_PROFILE)\n"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e.in(t).want(tt.args, "", tt.stderr, 1)
			})
		}
		// Errors of the server come through with its code and message.
		r := e.run("", "cr", "instance", "get", "cri-doesnotexist00")
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "rolepull: ") || !strings.Contains(r.stderr, "cri-doesnotexist00") {
			t.Errorf("cr instance get cri-doesnotexist00: exit %d, stdout %q, stderr %q; want exit 1 and an error naming the instance", r.code, r.stdout, r.stderr)
		}
	})

	// Close the internet endpoint: the registry resets the connection, and
	// the CLI says why.
	e.want([]string{"cr", "internet", "disable", id}, "internet access of "+id+" is off\n", "", 0)
	r := e.run("", "cr", "push", dir, host+"/demo/app:closed")
	if wantHint := "internet access of " + id + " is off: rolepull cr internet enable " + id + "\n"; r.code != 1 || r.stdout != "" || !strings.HasSuffix(r.stderr, wantHint) {
		t.Errorf("cr push to a closed instance: exit %d, stdout %q, stderr %q; want exit 1 and stderr ending %q", r.code, r.stdout, r.stderr, wantHint)
	}
	e.want([]string{"cr", "acl", "add", id, "10.0.0.0/8"}, id+" admits 10.0.0.0/8 on its internet endpoint\n",
		"note: internet access of "+id+" is off; the allow-list applies once it is on: rolepull cr internet enable "+id+"\n", 0)

	// Take it all down.
	e.want([]string{"cr", "acl", "remove", id, "10.0.0.0/8"}, id+" no longer admits 10.0.0.0/8\n", "", 0)
	e.want([]string{"cr", "vpc", "unlink", id, "--vpc", vpc}, id+" no longer admits "+vpc+"\n", "", 0)
	e.want([]string{"cr", "domain", "remove", id, custom}, custom+" no longer reaches "+id+"\n", "", 0)
	e.want([]string{"cr", "instance", "get", id}, fmt.Sprintf(`Instance:        %s
Name:            test1
Specification:   Enterprise_Standard
Region:          cn-hangzhou
Status:          RUNNING
Created:         %s
Domains:
`, id, e.start)+tableOf(
		[]string{"  DOMAIN", "TYPE", "NETWORK"},
		[]string{"  " + host, "SYSTEM", "internet"},
		[]string{"  " + vpcDom, "SYSTEM", "vpc"})+
		"Internet access: off; allow-list:\n"+tableOf(
		[]string{"  CIDR", "COMMENT"},
		[]string{"  127.0.0.0/16", "this machine"})+
		"Linked VPCs:     (none)\n", "", 0)
	r = e.run("", "cr", "instance", "delete", id)
	if want := "rolepull: Conflict.Instance.Repository: instance " + id + " still has 3 repositories; delete them first.\n"; r.code != 1 || r.stderr != want {
		t.Errorf("cr instance delete %s with repositories: exit %d, stderr %q; want exit 1, stderr %q", id, r.code, r.stderr, want)
	}
	empty := e.capture(`(cri-[a-z0-9]+)\n  test2-registry\.cn-shanghai\.cr\.aliyuncs\.com \(internet\)\n  test2-registry-vpc\.cn-shanghai\.cr\.aliyuncs\.com \(vpc\)\n`,
		"cr", "instance", "create", "test2", "--type", "Basic", "--region", "cn-shanghai")[1]
	e.want([]string{"cr", "namespace", "create", empty, "tmp"}, "namespace tmp created in "+empty+"\n", "", 0)
	e.want([]string{"cr", "instance", "delete", empty}, "instance "+empty+" deleted\n", "", 0)
	e.want([]string{"cr", "instance", "list"}, tableOf(
		[]string{"INSTANCE ID", "NAME", "SPECIFICATION", "REGION", "STATUS", "CREATED"},
		[]string{id, "test1", "Enterprise_Standard", "cn-hangzhou", "RUNNING", e.start}), "", 0)
}

// wantStdin is want with stdin.
func (e *env) wantStdin(stdin string, args []string, stdout, stderr string, code int) {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		e.t.Errorf("echo %q | rolepull %s:\n got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
			stdin, strings.Join(args, " "), r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

func ptr[T any](v T) *T { return &v }
