package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/store"
)

// CreateNamespace creates a namespace in an instance of account.
func (s *Service) CreateNamespace(ctx context.Context, account, instanceID, name string, autoCreateRepo bool, defaultType RepoType) (Namespace, error) {
	inst, err := s.GetInstance(ctx, account, instanceID)
	if err != nil {
		return Namespace{}, err
	}
	return s.createNamespace(ctx, inst, name, autoCreateRepo, defaultType)
}

func (s *Service) createNamespace(ctx context.Context, inst Instance, name string, autoCreateRepo bool, defaultType RepoType) (Namespace, error) {
	if !arn.IsNamespace(name) {
		return Namespace{}, errorf(ErrInvalid, "Namespace", "NamespaceName", "namespace %q: want 2–64 of a-z 0-9 with single . _ - between them", name)
	}
	if defaultType == "" {
		defaultType = RepoPrivate
	}
	ns := Namespace{InstanceID: inst.InstanceID, Name: name, AutoCreateRepo: autoCreateRepo, DefaultRepoType: defaultType, CreateTime: s.now()}
	conds := []store.Cond{store.Absent(namespaceKey(inst.InstanceID, name))}
	ops := []store.Op{store.Put(namespaceKey(inst.InstanceID, name), mustJSON(ns))}
	if !inst.Enterprise() {
		// On the legacy shared domain the namespace names the instance, so
		// Personal namespaces are unique per region across accounts.
		conds = append(conds, store.Absent(legacyNSKey(inst.Region, name)))
		ops = append(ops, store.Put(legacyNSKey(inst.Region, name), []byte(inst.InstanceID)))
	}
	_, err := s.st.Txn(ctx, conds, ops)
	if errors.Is(err, store.ErrConflict) {
		if !inst.Enterprise() {
			if _, err := s.st.Get(ctx, namespaceKey(inst.InstanceID, name)); errors.Is(err, store.ErrNotFound) {
				return Namespace{}, errorf(ErrExists, "Namespace", "NamespaceName", "namespace %q is taken in %s by another Personal instance (Personal namespaces are unique per region)", name, inst.Region)
			}
		}
		return Namespace{}, errorf(ErrExists, "Namespace", "NamespaceName", "namespace %q already exists in %s", name, inst.InstanceID)
	}
	if err != nil {
		return Namespace{}, err
	}
	return ns, nil
}

// GetNamespace returns a namespace.
func (s *Service) GetNamespace(ctx context.Context, instanceID, name string) (Namespace, error) {
	var ns Namespace
	if !arn.IsNamespace(name) {
		return ns, errorf(ErrNotFound, "Namespace", "NamespaceName", "namespace %q does not exist in %s", name, instanceID)
	}
	kv, err := s.st.Get(ctx, namespaceKey(instanceID, name))
	if errors.Is(err, store.ErrNotFound) {
		return ns, errorf(ErrNotFound, "Namespace", "NamespaceName", "namespace %q does not exist in %s", name, instanceID)
	}
	if err != nil {
		return ns, err
	}
	return ns, json.Unmarshal(kv.Value, &ns)
}

// ListNamespaces lists an instance's namespaces.
func (s *Service) ListNamespaces(ctx context.Context, instanceID string) ([]Namespace, error) {
	kvs, _, err := s.st.List(ctx, namespacePrefix(instanceID))
	if err != nil {
		return nil, err
	}
	out := make([]Namespace, 0, len(kvs))
	for _, kv := range kvs {
		var ns Namespace
		if err := json.Unmarshal(kv.Value, &ns); err != nil {
			return nil, err
		}
		out = append(out, ns)
	}
	return out, nil
}

// CreateRepository creates a repository in an existing namespace.
func (s *Service) CreateRepository(ctx context.Context, account, instanceID, namespace, name string, repoType RepoType, summary string) (Repository, error) {
	inst, err := s.GetInstance(ctx, account, instanceID)
	if err != nil {
		return Repository{}, err
	}
	if _, err := s.GetNamespace(ctx, inst.InstanceID, namespace); err != nil {
		return Repository{}, err
	}
	return s.createRepository(ctx, inst, namespace, name, repoType, summary)
}

func (s *Service) createRepository(ctx context.Context, inst Instance, namespace, name string, repoType RepoType, summary string) (Repository, error) {
	if !arn.IsNamespace(name) {
		return Repository{}, errorf(ErrInvalid, "Repository", "RepoName", "repository name %q: want 2–64 of a-z 0-9 with single . _ - between them", name)
	}
	if repoType == "" {
		repoType = RepoPrivate
	}
	if len(summary) > 100 {
		return Repository{}, errorf(ErrInvalid, "Repository", "Summary", "summary of %d bytes, at most 100", len(summary))
	}
	now := s.now()
	r := Repository{RepoID: randomID("crr-", 16), InstanceID: inst.InstanceID, Namespace: namespace, Name: name, RepoType: repoType, Summary: summary, CreateTime: now, ModifiedTime: now}
	_, err := s.st.Txn(ctx,
		[]store.Cond{store.Absent(repoKey(inst.InstanceID, namespace, name))},
		[]store.Op{store.Put(repoKey(inst.InstanceID, namespace, name), mustJSON(r)), store.Put(repoIDKey(r.RepoID), []byte(repoKey(inst.InstanceID, namespace, name)))})
	if errors.Is(err, store.ErrConflict) {
		return Repository{}, errorf(ErrExists, "Repository", "RepoName", "repository %s/%s already exists in %s", namespace, name, inst.InstanceID)
	}
	if err != nil {
		return Repository{}, err
	}
	return r, nil
}

// GetRepository returns a repository by path.
func (s *Service) GetRepository(ctx context.Context, instanceID, namespace, name string) (Repository, error) {
	var r Repository
	if !arn.IsNamespace(namespace) || !arn.IsNamespace(name) {
		return r, errorf(ErrNotFound, "Repository", "RepoName", "repository %s/%s does not exist in %s", namespace, name, instanceID)
	}
	kv, err := s.st.Get(ctx, repoKey(instanceID, namespace, name))
	if errors.Is(err, store.ErrNotFound) {
		return r, errorf(ErrNotFound, "Repository", "RepoName", "repository %s/%s does not exist in %s", namespace, name, instanceID)
	}
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(kv.Value, &r)
}

// GetRepositoryByID returns a repository by its crr- id.
func (s *Service) GetRepositoryByID(ctx context.Context, instanceID, repoID string) (Repository, error) {
	kv, err := s.st.Get(ctx, repoIDKey(repoID))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return Repository{}, errorf(ErrNotFound, "Repository", "RepoId", "repository %q does not exist", repoID)
	}
	if err != nil {
		return Repository{}, err
	}
	kv, err = s.st.Get(ctx, string(kv.Value))
	if err != nil {
		return Repository{}, errorf(ErrNotFound, "Repository", "RepoId", "repository %q does not exist", repoID)
	}
	var r Repository
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return r, err
	}
	if r.InstanceID != instanceID {
		return Repository{}, errorf(ErrNotFound, "Repository", "RepoId", "repository %q does not exist in %s", repoID, instanceID)
	}
	return r, nil
}

// ListRepositories lists an instance's repositories, optionally of one
// namespace.
func (s *Service) ListRepositories(ctx context.Context, instanceID, namespace string) ([]Repository, error) {
	p := repoPrefix(instanceID)
	if namespace != "" {
		p += namespace + "/"
	}
	kvs, _, err := s.st.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Repository, 0, len(kvs))
	for _, kv := range kvs {
		var r Repository
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteRepository removes a repository record (the registry engine's
// content is garbage its owner may collect).
func (s *Service) DeleteRepository(ctx context.Context, account, instanceID, namespace, name string) error {
	if _, err := s.GetInstance(ctx, account, instanceID); err != nil {
		return err
	}
	r, err := s.GetRepository(ctx, instanceID, namespace, name)
	if err != nil {
		return err
	}
	_, err = s.st.Txn(ctx, nil, []store.Op{store.Delete(repoKey(instanceID, namespace, name)), store.Delete(repoIDKey(r.RepoID))})
	return err
}

// EnsureRepository returns a repository, creating it — and its namespace —
// on a first push when the instance and namespace allow it, as ACR does.
// It is called only after RAM has granted the push.
func (s *Service) EnsureRepository(ctx context.Context, inst Instance, namespace, name string) (Repository, error) {
	if r, err := s.GetRepository(ctx, inst.InstanceID, namespace, name); err == nil || !errors.Is(err, ErrNotFound) {
		return r, err
	}
	ns, err := s.GetNamespace(ctx, inst.InstanceID, namespace)
	if errors.Is(err, ErrNotFound) {
		if !inst.Options.AutoCreateNamespace {
			return Repository{}, errorf(ErrNotFound, "Namespace", "NamespaceName", "namespace %q does not exist in %s and the instance does not create namespaces on push", namespace, inst.InstanceID)
		}
		ns, err = s.createNamespace(ctx, inst, namespace, true, RepoPrivate)
		if errors.Is(err, ErrExists) {
			ns, err = s.GetNamespace(ctx, inst.InstanceID, namespace)
		}
	}
	if err != nil {
		return Repository{}, err
	}
	if !ns.AutoCreateRepo {
		return Repository{}, errorf(ErrNotFound, "Repository", "RepoName", "repository %s/%s does not exist and namespace %q does not create repositories on push", namespace, name, namespace)
	}
	r, err := s.createRepository(ctx, inst, namespace, name, ns.DefaultRepoType, "")
	if errors.Is(err, ErrExists) {
		return s.GetRepository(ctx, inst.InstanceID, namespace, name)
	}
	if err == nil {
		s.log.Info("repository created on push", "instance", inst.InstanceID, "repository", fmt.Sprintf("%s/%s", namespace, name))
	}
	return r, err
}
