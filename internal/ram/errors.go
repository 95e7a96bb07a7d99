package ram

import (
	"errors"
	"fmt"
)

// Sentinels every *Error wraps; the OpenAPI layer maps them to the vendor's
// codes (EntityNotExist.Role, EntityAlreadyExists.User, ...).
var (
	ErrNotFound      = errors.New("not found")
	ErrExists        = errors.New("already exists")
	ErrConflict      = errors.New("conflict")
	ErrInvalid       = errors.New("invalid parameter")
	ErrLimitExceeded = errors.New("limit exceeded")
	ErrForbidden     = errors.New("not allowed")
)

// Error is a RAM failure with the entity and field it concerns.
type Error struct {
	Err    error  // one of the sentinels above
	Entity string // "Role", "User", "Policy", "AccessKey", "Account", "PolicyVersion"
	Field  string // for ErrInvalid: the parameter, e.g. "RoleName"; for ErrConflict: what is in the way, e.g. "Policy"
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

func notFound(entity, format string, args ...any) error {
	return &Error{Err: ErrNotFound, Entity: entity, Msg: fmt.Sprintf(format, args...)}
}

func exists(entity, format string, args ...any) error {
	return &Error{Err: ErrExists, Entity: entity, Msg: fmt.Sprintf(format, args...)}
}

func invalid(entity, field, format string, args ...any) error {
	return &Error{Err: ErrInvalid, Entity: entity, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func conflict(entity, field, format string, args ...any) error {
	return &Error{Err: ErrConflict, Entity: entity, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func limit(entity, field, format string, args ...any) error {
	return &Error{Err: ErrLimitExceeded, Entity: entity, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func forbidden(entity, format string, args ...any) error {
	return &Error{Err: ErrForbidden, Entity: entity, Msg: fmt.Sprintf(format, args...)}
}
