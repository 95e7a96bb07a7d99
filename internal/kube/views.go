package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/rolepull/rolepull/internal/eci"
)

// PodView is a pod as `rolepull get`/`describe` show it: the applied
// object joined with its container group's status.
type PodView struct {
	Namespace   string                `json:"namespace"`
	Name        string                `json:"name"`
	GroupID     string                `json:"containerGroupId"`
	Owner       string                `json:"owner,omitempty"`
	Status      string                `json:"status"`
	Ready       string                `json:"ready"` // containers running / total: nothing runs here
	Created     time.Time             `json:"created"`
	Labels      map[string]string     `json:"labels,omitempty"`
	Annotations map[string]string     `json:"annotations,omitempty"`
	Containers  []eci.ContainerStatus `json:"containers"`
	Progress    eci.Progress          `json:"progress"`
	VSwitchID   string                `json:"vSwitchId,omitempty"`
	VpcID       string                `json:"vpcId,omitempty"`
	Conditions  []Condition           `json:"conditions"`
	Events      []eci.Event           `json:"events,omitempty"`
}

// Condition is a pod condition.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"` // True, False
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// DeploymentView is a Deployment as `rolepull get` shows it.
type DeploymentView struct {
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	Replicas     int       `json:"replicas"`
	ImagesReady  int       `json:"imagesReady"`
	UpToDate     int       `json:"upToDate"`
	TemplateHash string    `json:"templateHash"`
	Created      time.Time `json:"created"`
	Images       []string  `json:"images"`
}

// Pods lists an account's pods (all namespaces when ns is "").
func (s *Service) Pods(ctx context.Context, acct, ns string, withEvents bool) ([]PodView, error) {
	sps, err := s.pods(ctx, acct, ns)
	if err != nil {
		return nil, err
	}
	out := make([]PodView, 0, len(sps))
	for _, sp := range sps {
		v, err := s.view(ctx, acct, sp, withEvents)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Pod returns one pod with its events.
func (s *Service) Pod(ctx context.Context, acct, ns, name string) (PodView, error) {
	var sp storedPod
	found, err := s.getJSON(ctx, podKey(acct, ns, name), &sp)
	if err != nil {
		return PodView{}, err
	}
	if !found {
		return PodView{}, fmt.Errorf("%w: pod %s/%s", ErrNotFound, ns, name)
	}
	return s.view(ctx, acct, sp, true)
}

func (s *Service) view(ctx context.Context, acct string, sp storedPod, withEvents bool) (PodView, error) {
	v := PodView{Namespace: sp.Pod.Namespace, Name: sp.Pod.Name, GroupID: sp.GroupID, Owner: sp.Owner, Created: sp.Created,
		Labels: sp.Pod.Labels, Annotations: sp.Pod.Annotations}
	g, err := s.eci.Get(ctx, acct, sp.GroupID)
	if err != nil {
		v.Status = "Unknown"
		return v, nil
	}
	v.Status, v.Containers, v.Progress, v.VSwitchID, v.VpcID = g.Status, g.ContainerStatuses, g.Progress, g.VSwitchID, g.VpcID
	if g.MatchedImageCache != "" {
		if v.Annotations == nil {
			v.Annotations = map[string]string{}
		}
		v.Annotations[AnnMatchedIMC] = g.MatchedImageCache
	}
	// Pulling status for a pod that waits on images, as kubectl would show.
	if g.Status == eci.StatusPending {
		for _, c := range g.ContainerStatuses {
			if !c.Ready && c.Reason != "" && c.Reason != "Pulling" {
				v.Status = c.Reason
				break
			}
		}
	}
	v.Ready = fmt.Sprintf("0/%d", len(g.ContainerStatuses))
	ready := 0
	for _, c := range g.ContainerStatuses {
		if c.Ready {
			ready++
		}
	}
	imagesReady := Condition{Type: "ImagesReady", Status: "False", Reason: "Pulling"}
	if ready == len(g.ContainerStatuses) {
		imagesReady = Condition{Type: "ImagesReady", Status: "True", Message: "every image is pulled and verified"}
	}
	v.Conditions = []Condition{
		{Type: "PodScheduled", Status: "True"},
		imagesReady,
		{Type: "ContainersReady", Status: "False", Reason: "NoRuntime", Message: "no container runtime is configured: images are pulled, nothing runs"},
	}
	if withEvents {
		if v.Events, err = s.eci.Events(ctx, sp.GroupID); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Deployments lists an account's Deployments.
func (s *Service) Deployments(ctx context.Context, acct, ns string) ([]DeploymentView, error) {
	p := deploymentPrefix(acct, ns)
	if ns == "" {
		p = accountPrefix(acct, "deployments")
	}
	kvs, _, err := s.st.List(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []DeploymentView
	for _, kv := range kvs {
		var sd storedDeployment
		if err := json.Unmarshal(kv.Value, &sd); err != nil {
			return nil, err
		}
		d := sd.Deployment
		v := DeploymentView{Namespace: d.Namespace, Name: d.Name, Replicas: replicas(&d), TemplateHash: sd.Hash, Created: sd.Created}
		for _, c := range d.Spec.Template.Spec.Containers {
			v.Images = append(v.Images, c.Image)
		}
		owned, err := s.ownedPods(ctx, acct, d.Namespace, d.Name)
		if err != nil {
			return nil, err
		}
		for _, p := range owned {
			if p.TemplateHash == sd.Hash {
				v.UpToDate++
			}
			if g, err := s.eci.Get(ctx, acct, p.GroupID); err == nil && g.Status == eci.StatusImagesReady {
				v.ImagesReady++
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out, nil
}
