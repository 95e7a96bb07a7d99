package registry

import (
	"context"
	"errors"
	"fmt"

	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/distribution/reference"
	"github.com/sirupsen/logrus"

	"github.com/rolepull/rolepull/internal/keyring"
)

// engine holds one distribution app per instance, created on first use.
// Each instance's content lives under root/INSTANCE_ID.
type engine struct {
	root string
	keys *keyring.Keyring
	log  *slog.Logger

	mu   sync.Mutex
	apps map[string]*instanceApp
}

type instanceApp struct {
	handler http.Handler
	app     *handlers.App
	ns      distribution.Namespace // a read view over the same storage, for tag listings
	driver  storagedriver.StorageDriver
}

var configureLogrus sync.Once

func newEngine(root string, keys *keyring.Keyring, log *slog.Logger) *engine {
	// distribution logs through logrus's standard logger, a process-wide
	// global; quieten it once to warnings, forwarded to our logger at debug.
	configureLogrus.Do(func() {
		logrus.SetLevel(logrus.WarnLevel)
		logrus.SetOutput(slogWriter{log})
		logrus.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	})
	return &engine{root: root, keys: keys, log: log, apps: make(map[string]*instanceApp)}
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	// The engine logs every 4xx it serves (a client's missing blob, a
	// HEAD before a push) at error level: that is routine traffic, so it
	// goes out at debug; rolepull logs its own failures itself.
	w.log.Debug("registry engine", "msg", string(p))
	return len(p), nil
}

// app returns the engine of an instance, creating it on first use.
func (e *engine) app(ctx context.Context, instanceID string) (*instanceApp, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ok := e.apps[instanceID]; ok {
		return a, nil
	}
	dir := filepath.Join(e.root, instanceID)
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": dir},
		"delete":     configuration.Parameters{"enabled": true},
		"cache":      configuration.Parameters{"blobdescriptor": "inmemory"},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{
			"enabled": true, "age": "168h", "interval": "24h", "dryrun": false,
		}},
	}
	cfg.HTTP.RelativeURLs = true
	cfg.Catalog.MaxEntries = 1000 // distribution's YAML default; 0 makes every catalog empty and rejects any ?n=
	// Upload state is HMAC'd with this secret; deriving it from the master
	// key lets any replica continue another's upload.
	cfg.HTTP.Secret = fmt.Sprintf("%x", e.keys.Derive(keyring.PurposeSigningKey, "registry-http-secret/"+instanceID))
	cfg.Log.Level = "warn"
	app, err := newApp(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("registry: start the engine of %s: %w", instanceID, err)
	}
	driver, err := filesystem.FromParameters(map[string]any{"rootdirectory": dir})
	if err != nil {
		return nil, err
	}
	ns, err := storage.NewRegistry(ctx, driver)
	if err != nil {
		return nil, err
	}
	a := &instanceApp{handler: app, app: app, ns: ns, driver: driver}
	e.apps[instanceID] = a
	return a, nil
}

// newApp builds a distribution app, which panics on configuration errors.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return handlers.NewApp(context.WithoutCancel(ctx), cfg), nil
}

func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, a := range e.apps {
		a.app.Shutdown()
		delete(e.apps, id)
	}
}

// Tag is one tag of a repository.
type Tag struct {
	Tag         string
	Digest      string
	ImageSize   int64
	ImageUpdate time.Time
}

// ListTags lists a repository's tags with their digests and sizes (the
// manifest's config and layers).
func (e *engine) ListTags(ctx context.Context, instanceID, namespace, repo string) ([]Tag, error) {
	a, err := e.app(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	named, err := reference.WithName(namespace + "/" + repo)
	if err != nil {
		return nil, err
	}
	r, err := a.ns.Repository(ctx, named)
	if err != nil {
		return nil, err
	}
	tags, err := r.Tags(ctx).All(ctx)
	var unknown distribution.ErrRepositoryUnknown
	if errors.As(err, &unknown) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ms, err := r.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		d, err := r.Tags(ctx).Get(ctx, t)
		if err != nil {
			continue // deleted meanwhile
		}
		tag := Tag{Tag: t, Digest: d.Digest.String()}
		// distribution keeps no tag time; the tag link's modification
		// time is when the tag last moved.
		if fi, err := a.driver.Stat(ctx, "/docker/registry/v2/repositories/"+namespace+"/"+repo+"/_manifests/tags/"+t+"/current/link"); err == nil {
			tag.ImageUpdate = fi.ModTime().UTC()
		}
		if m, err := ms.Get(ctx, d.Digest); err == nil {
			for _, ref := range m.References() {
				tag.ImageSize += ref.Size
			}
		}
		out = append(out, tag)
	}
	return out, nil
}
