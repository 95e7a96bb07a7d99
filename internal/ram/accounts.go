package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rolepull/rolepull/internal/arn"
	"github.com/rolepull/rolepull/internal/keyring"
	"github.com/rolepull/rolepull/internal/store"
)

// MaxAccessKeysPerOwner is the vendor's limit of AccessKeys per user (and
// per root identity).
const MaxAccessKeysPerOwner = 2

// CreateAccount creates an account named name with a fresh 16-digit UID.
// Names are unique, case-insensitively: 3–64 of [a-z0-9-].
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, error) {
	a, _, err := s.createAccount(ctx, name, false)
	return a, err
}

// CreateAccountWithKey creates an account and an AccessKey for its root in
// one transaction: a crash cannot leave the account without its key. It
// returns the key's secret, derived, never stored.
func (s *Service) CreateAccountWithKey(ctx context.Context, name string) (Account, AccessKey, string, error) {
	a, k, err := s.createAccount(ctx, name, true)
	if err != nil {
		return Account{}, AccessKey{}, "", err
	}
	s.log.Info("access key created", "account", a.ID, "user", "", "access_key_id", k.AccessKeyID)
	return a, k, s.AccessKeySecret(k.AccessKeyID), nil
}

func (s *Service) createAccount(ctx context.Context, name string, withKey bool) (Account, AccessKey, error) {
	if !isAccountName(name) {
		return Account{}, AccessKey{}, invalid("Account", "AccountName", "account name %q: want 3–64 lower-case letters, digits and '-'", name)
	}
	a := Account{ID: randomDigits(16), Name: name, CreateDate: s.now()}
	conds := []store.Cond{store.Absent(accountKey(a.ID)), store.Absent(accountNameKey(name))}
	ops := []store.Op{store.Put(accountKey(a.ID), mustJSON(a)), store.Put(accountNameKey(name), []byte(a.ID))}
	var k AccessKey
	if withKey {
		k = AccessKey{AccessKeyID: "LTAI" + randomAlnum(20), Account: a.ID, Status: KeyActive, CreateDate: a.CreateDate}
		idx := accessKeysOfKey(a.ID, "")
		conds = append(conds, store.Absent(accessKeyKey(k.AccessKeyID)), store.Absent(idx))
		ops = append(ops, store.Put(accessKeyKey(k.AccessKeyID), mustJSON(k)), store.Put(idx, mustJSON([]string{k.AccessKeyID})))
	}
	_, err := s.st.Txn(ctx, conds, ops)
	if isConflict(err) {
		if _, err := s.st.Get(ctx, accountNameKey(name)); err == nil {
			return Account{}, AccessKey{}, exists("Account", "account %q already exists", name)
		}
		return Account{}, AccessKey{}, fmt.Errorf("ram: create account %q: %w", name, err)
	}
	if err != nil {
		return Account{}, AccessKey{}, fmt.Errorf("ram: create account %q: %w", name, err)
	}
	s.log.Info("account created", "account", a.ID, "name", name)
	return a, k, nil
}

func isAccountName(s string) bool {
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// GetAccount returns the account with UID id.
func (s *Service) GetAccount(ctx context.Context, id string) (Account, error) {
	var a Account
	if !arn.IsAccountID(id) {
		return a, invalid("Account", "AccountId", "account id %q: want 16 digits", id)
	}
	_, err := s.get(ctx, accountKey(id), &a)
	if errors.Is(err, store.ErrNotFound) {
		return a, notFound("Account", "account %s does not exist", id)
	}
	return a, err
}

// ListAccounts returns every account.
func (s *Service) ListAccounts(ctx context.Context) ([]Account, error) {
	return list[Account](ctx, s.st, prefix+"account/")
}

// RequireAccount fails with EntityNotExist.Account unless uid exists.
func (s *Service) RequireAccount(ctx context.Context, uid string) error {
	_, err := s.GetAccount(ctx, uid)
	return err
}

// CreateUser creates a RAM user in account uid.
func (s *Service) CreateUser(ctx context.Context, uid string, u User) (User, error) {
	if !arn.IsUserName(u.UserName) {
		return User{}, invalid("User", "UserName", "user name %q: want 1–64 of A-Z a-z 0-9 . @ _ -, starting with a letter or digit", u.UserName)
	}
	if len(u.DisplayName) > 128 || len(u.Comments) > 128 {
		return User{}, invalid("User", "DisplayName", "display name and comments are at most 128 bytes")
	}
	if err := s.RequireAccount(ctx, uid); err != nil {
		return User{}, err
	}
	now := s.now()
	u.UserID = randomDigits(16)
	u.Account = uid
	u.CreateDate, u.UpdateDate = now, now
	if u.DisplayName == "" {
		u.DisplayName = u.UserName
	}
	_, err := s.st.Txn(ctx, []store.Cond{store.Absent(userKey(uid, u.UserName))}, []store.Op{store.Put(userKey(uid, u.UserName), mustJSON(u))})
	if isConflict(err) {
		return User{}, exists("User", "user %q already exists in account %s", u.UserName, uid)
	}
	if err != nil {
		return User{}, fmt.Errorf("ram: create user: %w", err)
	}
	return u, nil
}

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, uid, name string) (User, error) {
	var u User
	_, err := s.get(ctx, userKey(uid, name), &u)
	if errors.Is(err, store.ErrNotFound) {
		return u, notFound("User", "user %q does not exist in account %s", name, uid)
	}
	return u, err
}

// ListUsers returns an account's users.
func (s *Service) ListUsers(ctx context.Context, uid string) ([]User, error) {
	return list[User](ctx, s.st, userPrefix(uid))
}

// DeleteUser deletes a user that has no AccessKeys and no attached
// policies (the vendor's DeleteConflict rules).
func (s *Service) DeleteUser(ctx context.Context, uid, name string) error {
	kv, err := s.st.Get(ctx, userKey(uid, name))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("User", "user %q does not exist in account %s", name, uid)
	}
	if err != nil {
		return err
	}
	keys, _, err := s.ownerKeyIDs(ctx, uid, name)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return conflict("User", "AccessKey", "user %q still has %d AccessKey(s); delete them first", name, len(keys))
	}
	att, _, err := s.st.List(ctx, attachPrefix(uid, ToUser, name))
	if err != nil {
		return err
	}
	if len(att) > 0 {
		return conflict("User", "Policy", "user %q still has %d policy attachment(s); detach them first", name, len(att))
	}
	_, err = s.st.Txn(ctx, []store.Cond{store.At(kv.Key, kv.ModRevision)}, []store.Op{store.Delete(kv.Key)})
	if isConflict(err) {
		return conflict("User", "Concurrent", "user %q changed while being deleted; retry", name)
	}
	return err
}

// CreateAccessKey creates an AccessKey for a user, or for the account's
// root when user is empty, and returns it with its secret. The secret is
// derived from the master key and shown only here.
func (s *Service) CreateAccessKey(ctx context.Context, uid, user string) (AccessKey, string, error) {
	var conds []store.Cond
	var ops []store.Op
	if user == "" {
		if err := s.RequireAccount(ctx, uid); err != nil {
			return AccessKey{}, "", err
		}
	} else {
		kv, err := s.st.Get(ctx, userKey(uid, user))
		if errors.Is(err, store.ErrNotFound) {
			return AccessKey{}, "", notFound("User", "user %q does not exist in account %s", user, uid)
		}
		if err != nil {
			return AccessKey{}, "", err
		}
		// Rewriting the user bumps its revision: a concurrent DeleteUser,
		// which checked for keys before this one existed, then fails its
		// compare-and-swap instead of orphaning the key.
		conds = append(conds, store.At(kv.Key, kv.ModRevision))
		ops = append(ops, store.Put(kv.Key, kv.Value))
	}
	ids, rev, err := s.ownerKeyIDs(ctx, uid, user)
	if err != nil {
		return AccessKey{}, "", err
	}
	if len(ids) >= MaxAccessKeysPerOwner {
		return AccessKey{}, "", limit("AccessKey", "User.AccessKey", "%s already has %d AccessKeys, the maximum; delete one first", ownerName(uid, user), len(ids))
	}
	// The owner's key list is one compare-and-swapped value, so two
	// concurrent creations cannot both pass the limit check.
	idx := accessKeysOfKey(uid, user)
	if rev == 0 {
		conds = append(conds, store.Absent(idx))
	} else {
		conds = append(conds, store.At(idx, rev))
	}
	k := AccessKey{AccessKeyID: "LTAI" + randomAlnum(20), Account: uid, UserName: user, Status: KeyActive, CreateDate: s.now()}
	conds = append(conds, store.Absent(accessKeyKey(k.AccessKeyID)))
	ops = append(ops,
		store.Put(accessKeyKey(k.AccessKeyID), mustJSON(k)),
		store.Put(idx, mustJSON(append(ids, k.AccessKeyID))))
	_, err = s.st.Txn(ctx, conds, ops)
	if isConflict(err) {
		return AccessKey{}, "", conflict("AccessKey", "Concurrent", "the AccessKeys of %s changed concurrently; retry", ownerName(uid, user))
	}
	if err != nil {
		return AccessKey{}, "", fmt.Errorf("ram: create access key: %w", err)
	}
	s.log.Info("access key created", "account", uid, "user", user, "access_key_id", k.AccessKeyID)
	return k, s.AccessKeySecret(k.AccessKeyID), nil
}

func ownerName(uid, user string) string {
	if user == "" {
		return "the root of account " + uid
	}
	return fmt.Sprintf("user %q", user)
}

// ownerKeyIDs returns the ids of an owner's AccessKeys and the revision of
// the list (0 when the owner never had one).
func (s *Service) ownerKeyIDs(ctx context.Context, uid, user string) ([]string, int64, error) {
	var ids []string
	rev, err := s.get(ctx, accessKeysOfKey(uid, user), &ids)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	return ids, rev, err
}

// AccessKeySecret derives the secret of an AccessKey id. It is a pure
// function of the master key: nothing secret is stored.
func (s *Service) AccessKeySecret(id string) string {
	return s.keys.Secret(keyring.PurposeAccessKey, id)
}

// GetAccessKey returns an AccessKey by id.
func (s *Service) GetAccessKey(ctx context.Context, id string) (AccessKey, error) {
	var k AccessKey
	if err := store.ValidateKey(accessKeyKey(id)); err != nil {
		return k, notFound("AccessKey", "the AccessKey does not exist")
	}
	_, err := s.get(ctx, accessKeyKey(id), &k)
	if errors.Is(err, store.ErrNotFound) {
		return k, notFound("AccessKey", "AccessKey %s does not exist", id)
	}
	return k, err
}

// ListAccessKeys lists the AccessKeys of a user (or of root, user "").
func (s *Service) ListAccessKeys(ctx context.Context, uid, user string) ([]AccessKey, error) {
	if user != "" {
		if _, err := s.GetUser(ctx, uid, user); err != nil {
			return nil, err
		}
	}
	ids, _, err := s.ownerKeyIDs(ctx, uid, user)
	if err != nil {
		return nil, err
	}
	keys := make([]AccessKey, 0, len(ids))
	for _, id := range ids {
		k, err := s.GetAccessKey(ctx, id)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// UpdateAccessKey sets an AccessKey's status.
func (s *Service) UpdateAccessKey(ctx context.Context, uid, user, id string, status KeyStatus) error {
	if status != KeyActive && status != KeyInactive {
		return invalid("AccessKey", "Status", "status %q: want Active or Inactive", status)
	}
	k, rev, err := s.ownedKey(ctx, uid, user, id)
	if err != nil {
		return err
	}
	k.Status = status
	_, err = s.st.Txn(ctx, []store.Cond{store.At(accessKeyKey(id), rev)}, []store.Op{store.Put(accessKeyKey(id), mustJSON(k))})
	if isConflict(err) {
		return conflict("AccessKey", "Concurrent", "AccessKey %s changed concurrently; retry", id)
	}
	return err
}

// DeleteAccessKey deletes an AccessKey; its derived secret stops working at
// once because verification starts with the lookup.
func (s *Service) DeleteAccessKey(ctx context.Context, uid, user, id string) error {
	if _, _, err := s.ownedKey(ctx, uid, user, id); err != nil {
		return err
	}
	ids, rev, err := s.ownerKeyIDs(ctx, uid, user)
	if err != nil {
		return err
	}
	rest := make([]string, 0, len(ids))
	for _, x := range ids {
		if x != id {
			rest = append(rest, x)
		}
	}
	_, err = s.st.Txn(ctx, []store.Cond{store.At(accessKeysOfKey(uid, user), rev)},
		[]store.Op{store.Delete(accessKeyKey(id)), store.Put(accessKeysOfKey(uid, user), mustJSON(rest))})
	if isConflict(err) {
		return conflict("AccessKey", "Concurrent", "the AccessKeys of %s changed concurrently; retry", ownerName(uid, user))
	}
	return err
}

// ownedKey returns an AccessKey only if it belongs to the named owner, so
// one account can never touch another's keys by id.
func (s *Service) ownedKey(ctx context.Context, uid, user, id string) (AccessKey, int64, error) {
	var k AccessKey
	if err := store.ValidateKey(accessKeyKey(id)); err != nil {
		return k, 0, notFound("AccessKey", "the AccessKey does not exist")
	}
	rev, err := s.get(ctx, accessKeyKey(id), &k)
	if errors.Is(err, store.ErrNotFound) || err == nil && (k.Account != uid || !strings.EqualFold(k.UserName, user)) {
		return AccessKey{}, 0, notFound("AccessKey", "AccessKey %s does not exist for %s", id, ownerName(uid, user))
	}
	return k, rev, err
}
