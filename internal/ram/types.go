package ram

import (
	"strings"
	"time"

	"github.com/rolepull/rolepull/internal/arn"
)

// Account is a tenant, identified by a 16-digit UID, with a root identity.
type Account struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreateDate time.Time `json:"createDate"`
}

// RootARN is acs:ram::UID:root.
func (a Account) RootARN() string { return arn.RootARN(a.ID) }

// User is a RAM user.
type User struct {
	UserID      string    `json:"userId"`
	Account     string    `json:"account"`
	UserName    string    `json:"userName"`
	DisplayName string    `json:"displayName,omitempty"`
	Comments    string    `json:"comments,omitempty"`
	CreateDate  time.Time `json:"createDate"`
	UpdateDate  time.Time `json:"updateDate"`
}

// ARN is acs:ram::UID:user/NAME.
func (u User) ARN() string { return arn.UserARN(u.Account, u.UserName) }

// KeyStatus is an AccessKey's state.
type KeyStatus string

const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey identifies a long-term credential. Its secret is derived, never
// stored: see Service.AccessKeySecret.
type AccessKey struct {
	AccessKeyID string    `json:"accessKeyId"`
	Account     string    `json:"account"`
	UserName    string    `json:"userName,omitempty"` // empty: the account's root
	Status      KeyStatus `json:"status"`
	CreateDate  time.Time `json:"createDate"`
}

// Role is a RAM role.
type Role struct {
	RoleID                   string    `json:"roleId"` // immutable; sessions are bound to it
	Account                  string    `json:"account"`
	RoleName                 string    `json:"roleName"`
	Description              string    `json:"description,omitempty"`
	AssumeRolePolicyDocument string    `json:"assumeRolePolicyDocument"`
	MaxSessionDuration       int       `json:"maxSessionDuration"`
	IsServiceLinkedRole      bool      `json:"isServiceLinkedRole,omitempty"`
	CreateDate               time.Time `json:"createDate"`
	UpdateDate               time.Time `json:"updateDate"`
}

// ARN is acs:ram::UID:role/NAME.
func (r Role) ARN() string { return arn.RoleARN(r.Account, r.RoleName) }

// Role session bounds (seconds).
const (
	MinSessionDuration     = 900
	DefaultSessionDuration = 3600
	MinMaxSessionDuration  = 3600
	MaxMaxSessionDuration  = 43200
)

// PolicyType says who wrote a policy.
type PolicyType string

const (
	System PolicyType = "System"
	Custom PolicyType = "Custom"
)

// ParsePolicyType accepts the vendor's spelling, case-insensitively.
func ParsePolicyType(s string) (PolicyType, bool) {
	switch {
	case strings.EqualFold(s, "System"):
		return System, true
	case strings.EqualFold(s, "Custom"):
		return Custom, true
	}
	return "", false
}

// PolicyVersion is one version of a policy document.
type PolicyVersion struct {
	VersionID        string    `json:"versionId"` // "v1", "v2", ...
	IsDefaultVersion bool      `json:"isDefaultVersion"`
	PolicyDocument   string    `json:"policyDocument"`
	CreateDate       time.Time `json:"createDate"`
}

// Policy is a system or custom policy. For system policies Account is
// empty.
type Policy struct {
	PolicyName     string          `json:"policyName"`
	PolicyType     PolicyType      `json:"policyType"`
	Account        string          `json:"account,omitempty"`
	Description    string          `json:"description,omitempty"`
	DefaultVersion string          `json:"defaultVersion"`
	Versions       []PolicyVersion `json:"versions"`
	NextVersion    int             `json:"nextVersion"`
	CreateDate     time.Time       `json:"createDate"`
	UpdateDate     time.Time       `json:"updateDate"`
}

// Default returns the default version.
func (p Policy) Default() PolicyVersion {
	for _, v := range p.Versions {
		if v.VersionID == p.DefaultVersion {
			return v
		}
	}
	return PolicyVersion{}
}

// PrincipalType says what a policy is attached to.
type PrincipalType string

const (
	ToUser PrincipalType = "user"
	ToRole PrincipalType = "role"
)

// Attachment is one policy attached to one principal.
type Attachment struct {
	PolicyName    string        `json:"policyName"`
	PolicyType    PolicyType    `json:"policyType"`
	PrincipalType PrincipalType `json:"principalType"`
	PrincipalName string        `json:"principalName"`
	AttachDate    time.Time     `json:"attachDate"`
}
