package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"

	"github.com/rolepull/rolepull/internal/arn"
)

// refNameAnnotation tags a manifest in an OCI image layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

func newCRPushCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:     "push SRC IMAGE",
		Aliases: []string{"import"},
		Short:   "Push an OCI image layout or a docker save tarball to an instance domain",
		Long: `Push an image to a registry instance by one of its domains.

SRC is an OCI image layout directory — DIR when it holds one image (or one
index), DIR:TAG or DIR@DIGEST to pick one of several (TAG is the
org.opencontainers.image.ref.name annotation) — or a tarball file written by
` + "`docker save`" + ` or go-containerregistry (FILE, or FILE:REPO:TAG to pick one of
several images).

IMAGE is a full reference whose host is a domain of one of the profile's
instances: a default domain (NAME-registry.REGION.cr.aliyuncs.com), a custom
domain, or for a Personal instance the legacy registry.REGION.aliyuncs.com.
The push asks for a temporary password (GetAuthorizationToken) and goes
through the profile's registry endpoint as an HTTP proxy, in plain HTTP, so
no DNS entry is needed. The network access control of the instance applies
to this machine like to any client: open the internet endpoint and
allow-list this machine first (` + "`cr internet enable`, `cr acl add`" + `).

Progress goes to stderr, one line per blob; stdout gets IMAGE's repository
with the pushed manifest digest.`,
		Example: `  rolepull cr push ./app-layout test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0
  rolepull cr push ./multi-layout:v2 test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:2.0
  docker save app:1.0 -o app.tar && rolepull cr import app.tar test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := openSource(args[0])
			if err != nil {
				return err
			}
			ref, err := parseImageRef(args[1])
			if err != nil {
				return err
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			sess, err := a.openRegistry(cmd.Context(), ref)
			if err != nil {
				return err
			}
			defer sess.close()
			d, err := sess.push(cmd.Context(), cmd.ErrOrStderr(), src, ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s@%s\n", ref.Context().Name(), d)
			return nil
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}

func newCRPullCmd() *cobra.Command {
	var prof string
	cmd := &cobra.Command{
		Use:   "pull IMAGE DIR",
		Short: "Pull an image from an instance domain into an OCI image layout",
		Long: `Pull IMAGE (an image or an index) from a registry instance, as ` + "`cr push`" + ` reaches
it, into the OCI image layout DIR: a new or empty directory, or an existing
layout, where it is added (or replaces the image of the same tag). The tag
becomes the org.opencontainers.image.ref.name annotation, so
` + "`cr push DIR:TAG`" + ` picks it again. stdout gets the pulled manifest digest.`,
		Example: `  rolepull cr pull test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0 ./pulled`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseImageRef(args[0])
			if err != nil {
				return err
			}
			a, err := loadCR(prof)
			if err != nil {
				return err
			}
			sess, err := a.openRegistry(cmd.Context(), ref)
			if err != nil {
				return err
			}
			defer sess.close()
			d, err := sess.pull(cmd.Context(), ref, args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "pulled %s (%s) into %s\n", ref, d, args[1])
			fmt.Fprintf(cmd.OutOrStdout(), "%s@%s\n", ref.Context().Name(), d)
			return nil
		},
	}
	profileFlag(cmd, &prof)
	return cmd
}

// parseImageRef reads a full image reference on a registry host: the host
// is never defaulted (to Docker Hub), and the repository is
// NAMESPACE/REPO, as instances name them. Registries are reached in plain
// HTTP through the proxy.
func parseImageRef(s string) (name.Reference, error) {
	first, _, ok := strings.Cut(s, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return nil, fmt.Errorf("IMAGE %q: give a full reference on an instance domain, such as test1-registry.cn-hangzhou.cr.aliyuncs.com/demo/app:1.0", s)
	}
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("IMAGE %q: %w", s, err)
	}
	ns, repo, ok := strings.Cut(ref.Context().RepositoryStr(), "/")
	if !ok || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("IMAGE %q: the repository must be NAMESPACE/REPO, such as demo/app", s)
	}
	for _, n := range []string{ns, repo} {
		if !arn.IsNamespace(n) {
			return nil, fmt.Errorf("IMAGE %q: %q is not a namespace or repository name: 2–64 of a-z 0-9, with single . _ - between them", s, n)
		}
	}
	return ref, nil
}

// imageSource is what cr push reads: an image or an index.
type imageSource struct {
	image v1.Image
	index v1.ImageIndex
}

// openSource opens SRC: a path (a layout directory or a tarball), or a
// path followed by :SELECTOR or @DIGEST. The whole argument is tried as a
// path first, so paths containing ':' or '@' work.
func openSource(arg string) (imageSource, error) {
	if fi, err := os.Stat(arg); err == nil {
		return openPath(arg, fi, 0, "")
	}
	for i, c := range arg {
		if c != ':' && c != '@' || i == 0 {
			continue
		}
		if fi, err := os.Stat(arg[:i]); err == nil {
			return openPath(arg[:i], fi, c, arg[i+1:])
		}
	}
	return imageSource{}, fmt.Errorf("SRC %q: no such directory or file; want an OCI image layout directory (DIR, DIR:TAG or DIR@DIGEST) or a tarball from docker save", arg)
}

func openPath(path string, fi os.FileInfo, sep rune, sel string) (imageSource, error) {
	if fi.IsDir() {
		return openLayout(path, sep, sel)
	}
	if sep == '@' {
		return imageSource{}, fmt.Errorf("SRC %s@%s: a tarball's image is picked by tag (FILE:REPO:TAG), not by digest", path, sel)
	}
	var tag *name.Tag
	if sep == ':' {
		t, err := name.NewTag(sel)
		if err != nil {
			return imageSource{}, fmt.Errorf("SRC %s:%s: %q is not an image tag such as app:1.0: %w", path, sel, sel, err)
		}
		tag = &t
	}
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return imageSource{}, fmt.Errorf("SRC %s is neither an OCI image layout directory nor a tarball from docker save (extract an OCI layout archive and give its directory): %w", path, err)
	}
	if tag == nil && len(m) != 1 {
		var tags []string
		for _, d := range m {
			tags = append(tags, d.RepoTags...)
		}
		sort.Strings(tags)
		return imageSource{}, fmt.Errorf("SRC %s holds %d images: pick one with %s:REPO:TAG (tags: %s)", path, len(m), path, strings.Join(tags, ", "))
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return imageSource{}, fmt.Errorf("SRC %s: %w", path, err)
	}
	return imageSource{image: img}, nil
}

// openLayout picks one manifest of a layout's index.json: the only one, or
// the one with the tag (sep ':') or digest (sep '@').
func openLayout(dir string, sep rune, sel string) (imageSource, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return imageSource{}, fmt.Errorf("SRC %s is not an OCI image layout: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return imageSource{}, fmt.Errorf("SRC %s: %w", dir, err)
	}
	var want v1.Hash
	if sep == '@' {
		if want, err = v1.NewHash(sel); err != nil {
			return imageSource{}, fmt.Errorf("SRC %s@%s: %q is not a digest such as sha256:<64 hex digits>", dir, sel, sel)
		}
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		switch sep {
		case ':':
			if rn := d.Annotations[refNameAnnotation]; rn != sel && !strings.HasSuffix(rn, ":"+sel) {
				continue
			}
		case '@':
			if d.Digest != want {
				continue
			}
		}
		found = append(found, d)
	}
	if len(found) != 1 {
		var have []string
		for _, d := range im.Manifests {
			tag := d.Annotations[refNameAnnotation]
			if tag == "" {
				tag = "(untagged)"
			}
			have = append(have, tag+" "+d.Digest.String())
		}
		switch {
		case len(im.Manifests) == 0:
			return imageSource{}, fmt.Errorf("SRC %s: the layout holds no image", dir)
		case len(found) == 0:
			return imageSource{}, fmt.Errorf("SRC %s%c%s: no such image in the layout; it holds: %s", dir, sep, sel, strings.Join(have, ", "))
		case sep == 0:
			return imageSource{}, fmt.Errorf("SRC %s holds %d images: pick one with %s:TAG or %s@DIGEST (%s)", dir, len(found), dir, dir, strings.Join(have, ", "))
		default:
			return imageSource{}, fmt.Errorf("SRC %s%c%s matches %d images: pick one with %s@DIGEST (%s)", dir, sep, sel, len(found), dir, strings.Join(have, ", "))
		}
	}
	d := found[0]
	switch {
	case d.MediaType.IsIndex():
		ii, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return imageSource{}, fmt.Errorf("SRC %s: index %s: %w", dir, d.Digest, err)
		}
		return imageSource{index: ii}, nil
	case d.MediaType.IsImage():
		img, err := idx.Image(d.Digest)
		if err != nil {
			return imageSource{}, fmt.Errorf("SRC %s: image %s: %w", dir, d.Digest, err)
		}
		return imageSource{image: img}, nil
	}
	return imageSource{}, fmt.Errorf("SRC %s: %s has media type %s, neither an image manifest nor an index", dir, d.Digest, d.MediaType)
}

// registrySession talks to one instance's registry through the profile's
// registry endpoint, with a temporary password.
type registrySession struct {
	target    crTarget
	transport *http.Transport
	auth      authn.Authenticator
	opts      []remote.Option
}

// openRegistry resolves the reference's host to an instance and asks for
// a temporary password for it.
func (a crAPI) openRegistry(ctx context.Context, ref name.Reference) (*registrySession, error) {
	if a.p.RegistryEndpoint == "" {
		return nil, errors.New("the profile has no registryEndpoint, the registry listener to reach instance domains through (rolepull up writes it into admin-profile.json)")
	}
	proxy, err := url.Parse(a.p.RegistryEndpoint)
	if err != nil || proxy.Host == "" {
		return nil, fmt.Errorf("the profile's registryEndpoint %q is not a URL such as http://127.0.0.1:7500", a.p.RegistryEndpoint)
	}
	t, err := a.resolveHost(ctx, ref.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	pw, err := a.authorizationToken(ctx, t.Instance.InstanceId)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxy)
	auth := &authn.Basic{Username: pw.Username, Password: pw.Password}
	return &registrySession{target: t, transport: tr, auth: auth, opts: []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuth(auth),
		remote.WithUserAgent("rolepull"),
	}}, nil
}

func (s *registrySession) close() { s.transport.CloseIdleConnections() }

// watchedLayer records whether its content was read: an upload reads it,
// a blob the registry already has is not read.
type watchedLayer struct {
	v1.Layer
	read atomic.Bool
}

func (l *watchedLayer) Compressed() (io.ReadCloser, error) {
	l.read.Store(true)
	return l.Layer.Compressed()
}

// push uploads every blob of src, one progress line each, then writes the
// manifest (remote.Write or remote.WriteIndex, reusing the same pusher so
// nothing is uploaded twice), and returns the manifest digest.
func (s *registrySession) push(ctx context.Context, progress io.Writer, src imageSource, ref name.Reference) (v1.Hash, error) {
	var top partial.Describable = src.image
	if src.index != nil {
		top = src.index
	}
	digest, err := top.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != digest.String() {
		return v1.Hash{}, fmt.Errorf("IMAGE %s names digest %s, but SRC's manifest is %s", ref, d.DigestStr(), digest)
	}
	pusher, err := remote.NewPusher(s.opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	upload := func(kind string, l v1.Layer) error {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		if mt, err := l.MediaType(); err == nil && !mt.IsDistributable() {
			fmt.Fprintf(progress, "skipped %s %s (%d bytes): non-distributable\n", kind, d, size)
			return nil
		}
		w := &watchedLayer{Layer: l}
		if err := pusher.Upload(ctx, ref.Context(), w); err != nil {
			return s.explain(ctx, ref, fmt.Errorf("push %s %s to %s: %w", kind, d, ref.Context(), err))
		}
		state := "exists"
		if w.read.Load() {
			state = "pushed"
		}
		fmt.Fprintf(progress, "%s %s %s (%d bytes)\n", state, kind, d, size)
		return nil
	}
	uploadImage := func(img v1.Image) error {
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			if err := upload("layer", l); err != nil {
				return err
			}
		}
		cl, err := partial.ConfigLayer(img)
		if err != nil {
			return err
		}
		return upload("config", cl)
	}
	var uploadIndex func(ii v1.ImageIndex) error
	uploadIndex = func(ii v1.ImageIndex) error {
		im, err := ii.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := ii.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := uploadIndex(child); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				img, err := ii.Image(d.Digest)
				if err != nil {
					return err
				}
				if err := uploadImage(img); err != nil {
					return err
				}
			}
		}
		return nil
	}
	opts := append(append([]remote.Option{}, s.opts...), remote.Reuse(pusher))
	kind := "manifest"
	if src.index != nil {
		kind = "index"
		if err := uploadIndex(src.index); err != nil {
			return v1.Hash{}, err
		}
		err = remote.WriteIndex(ref, src.index, opts...)
	} else {
		if err := uploadImage(src.image); err != nil {
			return v1.Hash{}, err
		}
		err = remote.Write(ref, src.image, opts...)
	}
	if err != nil {
		return v1.Hash{}, s.explain(ctx, ref, fmt.Errorf("push %s %s to %s: %w", kind, digest, ref, err))
	}
	fmt.Fprintf(progress, "pushed %s %s to %s\n", kind, digest, ref)
	return digest, nil
}

// pull fetches ref into the OCI image layout dir and returns its digest.
func (s *registrySession) pull(ctx context.Context, ref name.Reference, dir string) (v1.Hash, error) {
	desc, err := remote.Get(ref, s.opts...)
	if err != nil {
		return v1.Hash{}, s.explain(ctx, ref, fmt.Errorf("pull %s: %w", ref, err))
	}
	lp, err := openOrCreateLayout(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	var opts []layout.Option
	matcher := match.Digests(desc.Digest)
	if t, ok := ref.(name.Tag); ok {
		opts = append(opts, layout.WithAnnotations(map[string]string{refNameAnnotation: t.TagStr()}))
		matcher = match.Annotation(refNameAnnotation, t.TagStr())
	}
	if desc.MediaType.IsIndex() {
		ii, err := desc.ImageIndex()
		if err != nil {
			return v1.Hash{}, err
		}
		err = lp.ReplaceIndex(ii, matcher, opts...)
	} else {
		img, err := desc.Image()
		if err != nil {
			return v1.Hash{}, err
		}
		err = lp.ReplaceImage(img, matcher, opts...)
	}
	if err != nil {
		return v1.Hash{}, s.explain(ctx, ref, fmt.Errorf("pull %s into %s: %w", ref, dir, err))
	}
	return desc.Digest, nil
}

// openOrCreateLayout opens the OCI image layout dir, or creates one in a
// new or empty directory.
func openOrCreateLayout(dir string) (layout.Path, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return layout.FromPath(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("DIR %s is neither an OCI image layout (it has no index.json) nor empty: pick a new or empty directory", dir)
	}
	return layout.Write(dir, empty.Index)
}

// explain adds the likely cause to a registry error: a reset connection is
// the instance's network access control refusing this machine; a refused
// HEAD has no body, so the registry's reason (RAM's) is asked for again
// with a GET.
func (s *registrySession) explain(ctx context.Context, ref name.Reference, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.Request != nil && te.Request.Method == http.MethodHead &&
		(te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		if why := s.refusal(ctx, ref, te.Request.URL); why != "" {
			return fmt.Errorf("%w\nthe registry says: %s", err, why)
		}
		return err
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	t, id := s.target, s.target.Instance.InstanceId
	var why string
	switch {
	case t.Network == "vpc":
		why = fmt.Sprintf("%s is a -vpc domain, which admits only the addresses of VPCs bound to %s; from this machine use the instance's public domain", t.Host, id)
	case !t.Internet.Enable:
		why = fmt.Sprintf("internet access of %s is off: rolepull cr internet enable %s", id, id)
	case t.Internet.AclEnable:
		why = fmt.Sprintf("this machine's address is not on the allow-list of %s: rolepull cr acl add %s CIDR (see rolepull cr instance get %s)", id, id, id)
	default:
		return err
	}
	return fmt.Errorf("%w\nthe registry reset the connection, so the network access control of %s refused this machine: %s", err, id, why)
}

// refusal GETs u with the push scope and returns the registry's error
// messages, or "" when there are none.
func (s *registrySession) refusal(ctx context.Context, ref name.Reference, u *url.URL) string {
	rt, err := transport.NewWithContext(ctx, ref.Context().Registry, s.auth, s.transport, []string{ref.Context().Scope(transport.PushScope)})
	if err != nil {
		return ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ""
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var te *transport.Error
	if !errors.As(transport.CheckError(resp, http.StatusOK), &te) {
		return ""
	}
	var msgs []string
	for _, d := range te.Errors {
		msgs = append(msgs, d.Message)
	}
	return strings.Join(msgs, "; ")
}
