package eci

import (
	"time"

	"github.com/rolepull/rolepull/internal/pull"
)

// Group statuses. ECI's Running is never claimed: nothing runs here.
const (
	StatusPending     = "Pending"     // pulling images
	StatusImagesReady = "ImagesReady" // every image pulled and verified; no runtime executes them
	StatusFailed      = "Failed"      // a pull failed; events say which and why
)

// Container is one container of a group.
type Container struct {
	Name            string `json:"name"`
	Image           string `json:"image"`
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"` // Always | IfNotPresent | Never
}

// ContainerStatus is what happened to one container's image.
type ContainerStatus struct {
	Name        string `json:"name"`
	Image       string `json:"image"`
	ImageDigest string `json:"imageDigest,omitempty"`
	// State is Waiting (pulling, or images ready with no runtime) or
	// Terminated (the pull failed for good).
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"` // Pulling, ImagesReady, ErrImagePull, ...
	Message string `json:"message,omitempty"`
	// Identity is who pulled: the role chain, an imagePullSecret or
	// anonymous.
	Identity string `json:"identity,omitempty"`
	// FailureKind is the pull.Kind of the last failure: trust, permission,
	// network, not found, registry (the registry answered with something
	// unusable), invalid or internal.
	FailureKind string `json:"failureKind,omitempty"`
	Ready       bool   `json:"ready"`
	Bytes       int64  `json:"bytes,omitempty"`
	// Cache is the image cache the image came from, if any.
	Cache string `json:"imageCache,omitempty"`
}

// Progress is a group's pull progress.
type Progress struct {
	Layers     int   `json:"layers"`
	LayersDone int   `json:"layersDone"`
	Bytes      int64 `json:"bytes"`
	BytesDone  int64 `json:"bytesDone"`
}

// ContainerGroup is a pod.
type ContainerGroup struct {
	ID         string      `json:"id"`
	Account    string      `json:"account"`
	Region     string      `json:"region"`
	ZoneID     string      `json:"zoneId,omitempty"`
	Name       string      `json:"name"`
	VSwitchID  string      `json:"vSwitchId,omitempty"`
	VpcID      string      `json:"vpcId,omitempty"`
	Containers []Container `json:"containers"`
	// Labels and Annotations as last applied; only the creation-time
	// annotations are in Pull.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Owner is the Kubernetes object that owns the group, e.g.
	// "Deployment/default/test", and Namespace its namespace.
	Namespace string `json:"namespace,omitempty"`
	Owner     string `json:"owner,omitempty"`
	// Pull is frozen at creation.
	Pull pull.Settings `json:"pull"`
	// SealedCredentials holds Pull.Credentials, sealed to this group's id.
	SealedCredentials []byte `json:"sealedCredentials,omitempty"`
	// Cache is how the group may use image caches (package-level rules in
	// imagecache.go), frozen at creation like Pull.
	Cache CacheSettings `json:"cache"`

	CreationTime      time.Time         `json:"creationTime"`
	Status            string            `json:"status"`
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
	Progress          Progress          `json:"progress"`
	// MatchedImageCache is written back as the annotation
	// k8s.aliyun.com/eci-matched-image-cache.
	MatchedImageCache string `json:"matchedImageCache,omitempty"`
	// CacheChecked is set once the group's image cache was chosen (or
	// none), so the choice and its event happen once.
	CacheChecked bool  `json:"cacheChecked,omitempty"`
	Generation   int64 `json:"generation"`
	// ObservedGeneration is the generation the reconciler last finished.
	ObservedGeneration int64 `json:"observedGeneration"`
}

// CacheSettings are a group's image-cache rules (issue: image caches).
type CacheSettings struct {
	AutoMatch    bool   `json:"autoMatch"`              // k8s.aliyun.com/eci-auto-imc (default true)
	Pinned       string `json:"pinned,omitempty"`       // k8s.aliyun.com/eci-imc-id
	PerfectMatch bool   `json:"perfectMatch,omitempty"` // k8s.aliyun.com/imc-perfect-match
	MatchCount   int    `json:"matchCount,omitempty"`   // k8s.aliyun.com/imc-match-count-request
	LegacyPinned bool   `json:"legacyPinned,omitempty"` // pinned through eci-image-snapshot-id: not Ready fails creation
}

// Event is one thing that happened to an object, as kubectl shows it.
type Event struct {
	Seq            int64     `json:"seq"`
	Type           string    `json:"type"` // Normal | Warning
	Reason         string    `json:"reason"`
	Message        string    `json:"message"`
	Count          int       `json:"count"`
	FirstTimestamp time.Time `json:"firstTimestamp"`
	LastTimestamp  time.Time `json:"lastTimestamp"`
	Source         string    `json:"source"`
}
