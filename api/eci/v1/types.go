package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GroupVersion is the API group and version of ImageCache.
const GroupVersion = "eci.alibabacloud.com/v1"

// ImageCache is a cache of images from which pods start faster; pods use it
// only after their own identity is authorized for its private images.
type ImageCache struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageCacheSpec   `json:"spec"`
	Status ImageCacheStatus `json:"status,omitempty"`
}

// ImageCacheSpec is what the cache holds and for how long.
type ImageCacheSpec struct {
	// Images to cache (at least one).
	Images []string `json:"images"`
	// ImagePullSecrets are "namespace:secret" entries, for images outside
	// ACR (the cache is cluster scoped).
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
	// ImageCacheSize is the cache's size in GiB, 20–32768 (default 20); the
	// images must fit in it.
	ImageCacheSize *int32 `json:"imageCacheSize,omitempty"`
	// RetentionDays is how long the cache lives, 1–65536; unset, forever.
	RetentionDays *int32 `json:"retentionDays,omitempty"`
}

// ImageCacheStatus is the cache's state.
type ImageCacheStatus struct {
	ImageCacheID    string      `json:"imageCacheId,omitempty"`
	Phase           string      `json:"phase,omitempty"`    // Preparing, Creating, Ready, Failed, Updating, UpdateFailed
	Progress        string      `json:"progress,omitempty"` // e.g. "100%"
	StartTime       metav1.Time `json:"startTime,omitempty"`
	LastUpdatedTime metav1.Time `json:"lastUpdatedTime,omitempty"`
	ExpireDateTime  metav1.Time `json:"expireDateTime,omitempty"`
	// Identity is the role chain the cache was built with.
	Identity string  `json:"identity,omitempty"`
	Events   []Event `json:"events,omitempty"`
}

// Event is one event of the cache.
type Event struct {
	Name           string      `json:"name,omitempty"`
	Type           string      `json:"type,omitempty"`
	Message        string      `json:"message,omitempty"`
	Count          int         `json:"count,omitempty"`
	FirstTimestamp metav1.Time `json:"firstTimestamp,omitempty"`
	LastTimestamp  metav1.Time `json:"lastTimestamp,omitempty"`
}

// ImageCacheList is a list of caches.
type ImageCacheList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageCache `json:"items"`
}
