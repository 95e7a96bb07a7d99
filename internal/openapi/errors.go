package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rolepull/rolepull/internal/acr"
	"github.com/rolepull/rolepull/internal/eci"
	"github.com/rolepull/rolepull/internal/netmodel"
	"github.com/rolepull/rolepull/internal/ram"
	"github.com/rolepull/rolepull/internal/sts"
)

// Error is a wire error: an HTTP status and the vendor's code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a wire error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common wire errors.
func missingParameter(name string) *Error {
	return Errorf(http.StatusBadRequest, "MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", name)
}

// InvalidParameter reports a malformed parameter, naming it and the fix.
func InvalidParameter(name, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "InvalidParameter."+name, format, args...)
}

// NoPermission reports a refused authorization, with RAM's reason.
func NoPermission(reason string) *Error {
	return Errorf(http.StatusForbidden, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM. %s", reason)
}

// toWire turns any error an action returns into the wire error the client
// sees. It is the one place domain errors meet vendor codes.
func toWire(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	var re *ram.Error
	if errors.As(err, &re) {
		switch {
		case errors.Is(err, ram.ErrNotFound):
			return Errorf(http.StatusNotFound, "EntityNotExist."+re.Entity, "%s", err.Error())
		case errors.Is(err, ram.ErrExists):
			return Errorf(http.StatusConflict, "EntityAlreadyExists."+re.Entity, "%s", err.Error())
		case errors.Is(err, ram.ErrConflict):
			return Errorf(http.StatusConflict, "DeleteConflict."+re.Entity+"."+re.Field, "%s", err.Error())
		case errors.Is(err, ram.ErrLimitExceeded):
			return Errorf(http.StatusConflict, "LimitExceeded."+re.Field, "%s", err.Error())
		case errors.Is(err, ram.ErrForbidden):
			return Errorf(http.StatusForbidden, "NoPermission", "%s", err.Error())
		case errors.Is(err, ram.ErrInvalid):
			field := re.Field
			if field == "" {
				field = re.Entity
			}
			return Errorf(http.StatusBadRequest, "InvalidParameter."+field, "%s", err.Error())
		}
	}
	var se *sts.Error
	if errors.As(err, &se) {
		if errors.Is(err, sts.ErrNoPermission) {
			return Errorf(http.StatusForbidden, "NoPermission", "%s", err.Error())
		}
		return Errorf(http.StatusBadRequest, "InvalidParameter."+se.Field, "%s", err.Error())
	}
	var ae *acr.Error
	if errors.As(err, &ae) {
		return acrWire(ae)
	}
	var ne *netmodel.Error
	if errors.As(err, &ne) {
		return netWire(ne)
	}
	if ee := eciErrors(err); len(ee) > 0 {
		return eciWire(ee)
	}
	if errors.Is(err, acr.ErrPasswordExpired) {
		// IssueTempPassword refuses a session with no life left.
		return Errorf(http.StatusBadRequest, "InvalidSecurityToken.Expired", "The session behind these credentials has ended, so no temporary password can be issued: assume the role again and retry.")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "The request was cancelled or timed out.")
	}
	return Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
}

// Container Registry's not-found codes: the vendor's own where public
// clients match on them (terraform-provider-alicloud's CR service treats
// INSTANCE_NOT_EXIST, NAMESPACE_NOT_EXIST and REPO_NOT_EXIST as "gone";
// VPC_NOT_EXIST appears in the same family), else ENTITY.NotExist. Each
// message gets the call that lists what does exist.
var acrNotExist = map[string]struct{ code, hint string }{
	"Instance":   {"INSTANCE_NOT_EXIST", "Check InstanceId and the region you call; ListInstance lists your instances."},
	"Namespace":  {"NAMESPACE_NOT_EXIST", "ListNamespace lists the instance's namespaces; CreateNamespace creates one."},
	"Repository": {"REPO_NOT_EXIST", "ListRepository lists the instance's repositories; CreateRepository creates one."},
	"Vpc":        {"VPC_NOT_EXIST", "GetInstanceVpcEndpoint lists the VPCs bound to the instance."},
	"Acl":        {"Acl.NotExist", "GetInstanceEndpoint with EndpointType=internet lists the allow-list."},
	"Domain":     {"Domain.NotExist", "ListInstanceDomain lists the instance's domains."},
}

// acrQuota names what ran out.
var acrQuota = map[string]string{"Acl": "QuotaExceeded.AclEntry", "Vpc": "QuotaExceeded.LinkedVpc", "Domain": "QuotaExceeded.Domain"}

// acrWire maps a Container Registry control-plane error. Its message
// already names the value; the wire message leads with the parameter.
func acrWire(e *acr.Error) *Error {
	field := e.Field
	if field == "" {
		field = e.Entity
	}
	switch {
	case errors.Is(e, acr.ErrNotFound):
		nf, ok := acrNotExist[e.Entity]
		if !ok {
			nf.code = e.Entity + ".NotExist"
		}
		return Errorf(http.StatusNotFound, nf.code, "%s: %s. %s", field, e.Msg, nf.hint)
	case errors.Is(e, acr.ErrExists):
		return Errorf(http.StatusConflict, e.Entity+".AlreadyExist", "%s: %s.", field, e.Msg)
	case errors.Is(e, acr.ErrInvalid):
		return Errorf(http.StatusBadRequest, "InvalidParameter."+field, "%s: %s.", field, e.Msg)
	case errors.Is(e, acr.ErrLimit):
		code, ok := acrQuota[e.Entity]
		if !ok {
			code = "QuotaExceeded." + e.Entity
		}
		return Errorf(http.StatusBadRequest, code, "%s: %s.", field, e.Msg)
	case errors.Is(e, acr.ErrConflict):
		return Errorf(http.StatusConflict, "Conflict."+e.Entity+"."+field, "%s.", e.Msg)
	}
	return Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
}

// netWire maps a network-model error to the VPC product's codes
// (InvalidVpcId.NotFound, QuotaExceeded.VSwitch, …), whichever API the
// VPC or vSwitch was named in.
func netWire(e *netmodel.Error) *Error {
	switch {
	case errors.Is(e, netmodel.ErrNotFound):
		return Errorf(http.StatusNotFound, "Invalid"+e.Entity+"Id.NotFound", "%sId: %s. %s lists those of your account in a region.", e.Entity, e.Msg, netLister[e.Entity])
	case errors.Is(e, netmodel.ErrInvalid):
		field := e.Field
		if field == "" {
			field = e.Entity
		}
		msg := e.Msg
		if !strings.HasPrefix(msg, field) {
			msg = field + ": " + msg
		}
		return Errorf(http.StatusBadRequest, "Invalid"+field+".Malformed", "%s.", msg)
	case errors.Is(e, netmodel.ErrLimit):
		return Errorf(http.StatusBadRequest, "QuotaExceeded."+e.Entity, "%s.", e.Msg)
	}
	return Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
}

var netLister = map[string]string{"Vpc": "DescribeVpcs", "VSwitch": "DescribeVSwitches"}

// eciErrors returns every *eci.Error in err, in order: package eci joins
// all of a request's validation errors.
func eciErrors(err error) []*eci.Error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*eci.Error
		for _, e := range j.Unwrap() {
			out = append(out, eciErrors(e)...)
		}
		return out
	}
	var ee *eci.Error
	if errors.As(err, &ee) {
		return []*eci.Error{ee}
	}
	return nil
}

// eciWire maps Elastic Container Instance errors. The first decides the
// code; the message names every field with its problem. A missing object
// is InvalidParameter.NotFound, the code the vendor's Terraform provider
// treats as "gone" for DescribeContainerGroups; an object in the wrong
// state is OperationConflict.
func eciWire(ee []*eci.Error) *Error {
	msgs := make([]string, len(ee))
	for i, e := range ee {
		msgs[i] = e.Msg
		if e.Field != "" && !strings.HasPrefix(e.Msg, e.Field) {
			msgs[i] = e.Field + ": " + e.Msg
		}
	}
	msg := strings.Join(msgs, "; ")
	first := ee[0]
	switch {
	case errors.Is(first, eci.ErrNotFound):
		return Errorf(http.StatusNotFound, "InvalidParameter.NotFound", "%s.%s", msg, eciLister[first.Field])
	case errors.Is(first, eci.ErrInvalid):
		code := "InvalidParameter"
		if first.Field != "" {
			code += "." + first.Field
		}
		return Errorf(http.StatusBadRequest, code, "%s.", msg)
	case errors.Is(first, eci.ErrConflict):
		return Errorf(http.StatusConflict, "OperationConflict", "%s.", msg)
	}
	return Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
}

// eciLister names, for a field naming a missing object, the call that
// lists what exists.
var eciLister = map[string]string{
	"ContainerGroupId": " DescribeContainerGroups lists the container groups of your account in a region.",
	"ImageCacheId":     " DescribeImageCaches lists the image caches of your account in a region.",
}
