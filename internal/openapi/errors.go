package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "The request was cancelled or timed out.")
	}
	return Errorf(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
}
