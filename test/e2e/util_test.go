package e2e

import "github.com/rolepull/rolepull/internal/ram"

func ramUpdate(trust string) ram.RoleUpdate {
	return ram.RoleUpdate{NewAssumeRolePolicyDocument: &trust}
}
